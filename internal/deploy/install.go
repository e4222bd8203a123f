package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/canaryflow/canaryflow/internal/store"
)

// install starts green at the desired count and waits until the router
// finds every target healthy. The task set, with its task IDs, is saved
// before any task starts, so a restart adopts the same tasks.
func (r *runner) install(ctx context.Context, d *Deployment) error {
	if d.GreenTaskSet == "" {
		if err := r.retireLeftovers(ctx, d); err != nil {
			return err
		}
		var err error
		d, err = r.update(func(tx *store.Tx, d *Deployment) error {
			n, err := tx.NextSeq("taskset")
			if err != nil {
				return err
			}
			ts := &TaskSet{ID: fmt.Sprintf("ts-%06d", n), Service: d.Service, Revision: d.Revision, Status: TaskSetActive}
			for i := range d.Settings.DesiredCount {
				ts.Tasks = append(ts.Tasks, Task{ID: fmt.Sprintf("%s-%s-%d", d.Service, ts.ID, i+1)})
			}
			if err := putTaskSet(tx, ts); err != nil {
				return err
			}
			w, err := getWeights(tx, d.Service)
			if err != nil {
				return err
			}
			w.Blue, w.Green, w.GreenPercent = d.BlueTaskSet, ts.ID, 0
			if err := putWeights(tx, w); err != nil {
				return err
			}
			d.GreenTaskSet = ts.ID
			d.WaitUntil = r.now().Add(d.Settings.InstallTimeout)
			return r.setEvent(tx, EventInstall, EventInProgress, "")
		})
		if err != nil {
			return err
		}
	}
	if err := r.c.ensureTaskSet(ctx, d.Service, d.GreenTaskSet); err != nil {
		var se *storeError
		if errors.As(err, &se) || ctx.Err() != nil {
			return err
		}
		return r.failure(d, CodeHealth, fmt.Sprintf("start green task set %s: %v", d.GreenTaskSet, err))
	}
	for {
		m, err := r.c.opts.Traffic.Metrics(ctx, d.Service, d.GreenTaskSet)
		if err == nil && m.Healthy >= d.Settings.DesiredCount && m.Unhealthy == 0 {
			break
		}
		if !r.now().Before(d.WaitUntil) {
			return r.failure(d, CodeHealth, fmt.Sprintf("green task set %s: %d of %d targets healthy after %s",
				d.GreenTaskSet, m.Healthy, d.Settings.DesiredCount, d.Settings.InstallTimeout))
		}
		until := r.now().Add(r.c.opts.PollInterval)
		if d.WaitUntil.Before(until) {
			until = d.WaitUntil
		}
		w, err := r.watch(ctx, d, until, nil)
		if err != nil {
			return err
		}
		if w.kind == wakeStop || w.kind == wakeAlarm {
			return r.interrupted(d, w)
		}
	}
	r.c.log.Info("green healthy", "id", d.ID, "taskSet", d.GreenTaskSet)
	_, err := r.update(func(tx *store.Tx, d *Deployment) error {
		d.Step, d.WaitUntil = EventAfterInstall, time.Time{}
		return r.setEvent(tx, EventInstall, EventSucceeded, "")
	})
	return err
}

// retireLeftovers removes ACTIVE task sets a deployment stopped without
// rollback left behind, so the new green is the only replacement.
func (r *runner) retireLeftovers(ctx context.Context, d *Deployment) error {
	var sets []TaskSet
	if err := r.c.opts.Store.View(func(tx *store.Tx) (err error) {
		sets, err = store.List[TaskSet](tx, store.TaskSets, d.Service+"/")
		return err
	}); err != nil {
		return &storeError{err}
	}
	for _, ts := range sets {
		if ts.Status == TaskSetActive {
			if err := r.c.retireTaskSet(ctx, d.Service, ts.ID, d.Settings.StopGrace); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureTaskSet starts (or adopts) every task of a task set, saves their
// endpoints and registers them with the router.
func (c *Controller) ensureTaskSet(ctx context.Context, service, id string) error {
	var ts *TaskSet
	var rev *Revision
	if err := c.opts.Store.View(func(tx *store.Tx) (err error) {
		if ts, err = getTaskSet(tx, service, id); err != nil {
			return err
		}
		rev, err = getRevision(tx, service, ts.Revision)
		return err
	}); err != nil {
		return &storeError{err}
	}
	endpoints := make([]string, 0, len(ts.Tasks))
	for i, t := range ts.Tasks {
		got, err := c.opts.Runtime.Start(ctx, TaskSpec{ID: t.ID, TaskSet: id, Revision: *rev})
		if err != nil {
			return fmt.Errorf("start task %s: %w", t.ID, err)
		}
		ts.Tasks[i].Endpoint, ts.Tasks[i].Running = got.Endpoint, true
		endpoints = append(endpoints, got.Endpoint)
	}
	if err := c.update(func(tx *store.Tx) error {
		cur, err := getTaskSet(tx, service, id)
		if err != nil {
			return err
		}
		cur.Tasks = ts.Tasks
		return putTaskSet(tx, cur)
	}); err != nil {
		return &storeError{err}
	}
	if err := c.opts.Traffic.Register(ctx, service, id, endpoints); err != nil {
		return fmt.Errorf("register target group %s: %w", id, err)
	}
	return nil
}

// retireTaskSet drains a task set's target group, stops its tasks and
// marks it INACTIVE. Each part is idempotent, so a restart may repeat it.
func (c *Controller) retireTaskSet(ctx context.Context, service, id string, grace time.Duration) error {
	if err := c.opts.Traffic.Deregister(ctx, service, id); err != nil {
		return fmt.Errorf("deregister target group %s: %w", id, err)
	}
	var ts *TaskSet
	if err := c.opts.Store.View(func(tx *store.Tx) (err error) {
		ts, err = getTaskSet(tx, service, id)
		return err
	}); err != nil {
		return &storeError{err}
	}
	for _, t := range ts.Tasks {
		if err := c.opts.Runtime.Stop(ctx, t.ID, grace); err != nil {
			return fmt.Errorf("stop task %s: %w", t.ID, err)
		}
	}
	if err := c.update(func(tx *store.Tx) error {
		ts, err := getTaskSet(tx, service, id)
		if err != nil {
			return err
		}
		ts.Status = TaskSetInactive
		for i := range ts.Tasks {
			ts.Tasks[i].Running = false
		}
		return putTaskSet(tx, ts)
	}); err != nil {
		return &storeError{err}
	}
	return nil
}
