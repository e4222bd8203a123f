package deploy

import (
	"context"
	"fmt"
	"sort"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/store"
)

// Approve continues a deployment waiting in its ready wait
// (CodeDeploy's ContinueDeployment).
func (c *Controller) Approve(ctx context.Context, id string) error {
	return c.request("approve", id, func(d *Deployment) error {
		if d.Settings.ReadyAction != "STOP_DEPLOYMENT" || d.ShiftIndex > 0 || d.Step == EventAllowTraffic {
			return ErrNotWaiting
		}
		d.Approved = true
		return nil
	})
}

// request records a user's request on a deployment still running (change
// sets it on d, or refuses it) and wakes the deployment's runner to act on
// it; verb names the request in its error.
func (c *Controller) request(verb, id string, change func(d *Deployment) error) error {
	err := c.update(func(tx *store.Tx) error {
		d, err := getDeployment(tx, id)
		if err != nil {
			return err
		}
		if d.Done() {
			return ErrFinished
		}
		if err := change(d); err != nil {
			return err
		}
		return putDeployment(tx, d)
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, id, err)
	}
	c.wake(id)
	return nil
}

// Promote moves all production traffic to green now: the ready wait is
// approved (CodeDeploy's "reroute traffic"), and the canary or linear
// steps left and their waits are skipped, as `kubectl argo rollouts
// promote --full` does. Alarms are still watched and the termination wait
// still keeps blue, so a rollback stays a weight change.
func (c *Controller) Promote(ctx context.Context, id string) error {
	return c.request("promote", id, func(d *Deployment) error {
		if stepOrder[d.Step] > stepOrder[EventAllowTraffic] || d.Status == StatusQueued {
			if d.Status == StatusQueued {
				return fmt.Errorf("%w: it is queued", ErrNotWaiting)
			}
			return ErrNothingToPromote
		}
		d.PromoteRequested = true
		if d.Settings.ReadyAction == "STOP_DEPLOYMENT" {
			d.Approved = true
		}
		return nil
	})
}

// Stop stops a deployment (CodeDeploy's StopDeployment). With rollback it
// returns production traffic to blue and removes green; without, it leaves
// traffic and task sets as they are. A queued deployment is just stopped.
func (c *Controller) Stop(ctx context.Context, id string, rollback bool) error {
	return c.request("stop", id, func(d *Deployment) error {
		if d.Step == stepTerminateBlue {
			return fmt.Errorf("%w: blue is already being terminated", ErrFinished)
		}
		if d.Status == StatusQueued {
			d.Status, d.Completed = StatusStopped, c.opts.Clock.Now().UTC()
			d.Error = &ErrorInfo{Code: CodeManualStop, Message: "stopped while queued"}
			return nil
		}
		d.StopRequested, d.StopNoRollback = true, !rollback
		return nil
	})
}

// Rollback returns a service to its previous good revision at once. If a
// deployment is in progress it is stopped with rollback (blue is the good
// revision). Otherwise a new deployment of the last revision that
// succeeded before the live one is created, all at once, with no ready
// wait and no termination wait. settings supplies the rest (hooks,
// alarms, desired count).
//
// With to set, the service goes back to that version instead (the newest
// revision whose Version is to, with or without a leading "v", or whose
// number is to): refused while a deployment is in progress, and when
// that version is the live one.
func (c *Controller) Rollback(ctx context.Context, service, to string, settings Settings) (*Deployment, error) {
	var active *Deployment
	target := 0
	err := c.opts.Store.View(func(tx *store.Tx) error {
		all, err := listDeployments(tx, service)
		if err != nil {
			return err
		}
		for i := range all {
			if all[i].Active() {
				if to != "" {
					return &ActiveError{Service: service, ID: all[i].ID}
				}
				active = &all[i]
				return nil
			}
		}
		live, err := primaryTaskSet(tx, service)
		if err != nil {
			return err
		}
		if live == nil {
			return fmt.Errorf("service %s has no live revision: %w", service, ErrNoPrevious)
		}
		if to != "" {
			revs, err := store.List[Revision](tx, store.Revisions, service+"/")
			if err != nil {
				return err
			}
			for i := len(revs) - 1; i >= 0 && target == 0; i-- {
				if revs[i].Is(to) {
					target = revs[i].Number
				}
			}
			switch {
			case target == 0:
				return fmt.Errorf("service %s has no revision of version %q: %w", service, to, ErrNotFound)
			case target == live.Revision:
				return fmt.Errorf("service %s: version %s (revision %d) is the live one: %w", service, to, target, ErrNoPrevious)
			}
			return nil
		}
		for i := len(all) - 1; i >= 0; i-- {
			if all[i].Status == StatusSucceeded && all[i].Revision != live.Revision {
				target = all[i].Revision
				return nil
			}
		}
		return fmt.Errorf("service %s: %w before revision %d", service, ErrNoPrevious, live.Revision)
	})
	if err != nil {
		return nil, fmt.Errorf("rollback %s: %w", service, err)
	}
	if active != nil {
		if err := c.Stop(ctx, active.ID, true); err != nil {
			return nil, fmt.Errorf("rollback %s: %w", service, err)
		}
		return c.Get(active.ID)
	}
	settings.Strategy = awsfmt.TrafficRouting{Type: awsfmt.AllAtOnce}
	settings.ReadyAction, settings.TerminationWait = "CONTINUE_DEPLOYMENT", 0
	return c.Create(ctx, CreateRequest{Service: service, Revision: target, Settings: settings, Creator: "rollback"})
}

// Revisions returns a service's registered revisions, oldest first.
func (c *Controller) Revisions(service string) ([]Revision, error) {
	var out []Revision
	err := c.opts.Store.View(func(tx *store.Tx) (err error) {
		out, err = store.List[Revision](tx, store.Revisions, service+"/")
		return err
	})
	return out, err
}

// Get returns a deployment.
func (c *Controller) Get(id string) (*Deployment, error) {
	var d *Deployment
	err := c.opts.Store.View(func(tx *store.Tx) (err error) {
		d, err = getDeployment(tx, id)
		return err
	})
	return d, err
}

// Events returns a deployment's lifecycle events in order.
func (c *Controller) Events(id string) ([]LifecycleEvent, error) {
	var evs []LifecycleEvent
	err := c.opts.Store.View(func(tx *store.Tx) (err error) {
		if _, err := getDeployment(tx, id); err != nil {
			return err
		}
		evs, err = getEvents(tx, id)
		return err
	})
	return evs, err
}

// List returns the deployments of a service ("" for every service),
// oldest first.
func (c *Controller) List(service string) ([]Deployment, error) {
	var out []Deployment
	err := c.opts.Store.View(func(tx *store.Tx) (err error) {
		out, err = listDeployments(tx, service)
		return err
	})
	return out, err
}

// ServiceStatus is what `canaryflow status` shows for one service.
type ServiceStatus struct {
	Service      string    `json:"service"`
	LiveRevision int       `json:"liveRevision"` // 0 before the first deployment
	Weights      Weights   `json:"weights"`
	TaskSets     []TaskSet `json:"taskSets"` // PRIMARY and ACTIVE ones
	Active       string    `json:"activeDeployment,omitempty"`
}

// Services returns the status of every service that has a revision.
func (c *Controller) Services() ([]ServiceStatus, error) {
	var out []ServiceStatus
	err := c.opts.Store.View(func(tx *store.Tx) error {
		revs, err := store.List[Revision](tx, store.Revisions, "")
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, r := range revs {
			if seen[r.Service] {
				continue
			}
			seen[r.Service] = true
			st := ServiceStatus{Service: r.Service}
			if st.Weights, err = getWeights(tx, r.Service); err != nil {
				return err
			}
			sets, err := store.List[TaskSet](tx, store.TaskSets, r.Service+"/")
			if err != nil {
				return err
			}
			for _, ts := range sets {
				if ts.Status == TaskSetPrimary {
					st.LiveRevision = ts.Revision
				}
				if ts.Status != TaskSetInactive {
					st.TaskSets = append(st.TaskSets, ts)
				}
			}
			ds, err := listDeployments(tx, r.Service)
			if err != nil {
				return err
			}
			for _, d := range ds {
				if d.Active() {
					st.Active = d.ID
				}
			}
			out = append(out, st)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out, err
}
