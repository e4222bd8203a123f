package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/canaryflow/canaryflow/internal/store"
)

// Steps the controller saves besides the lifecycle event names.
const (
	stepReady           = "ReadyWait"
	stepTerminationWait = "TerminationWait"
	stepTerminateBlue   = "TerminateBlue"
	stepRollback        = "RollingBack"
	stepFinish          = "Finish"
	stepDone            = "Done"
)

// stepOrder ranks the steps; alarms are watched from after Install to
// before blue is terminated.
var stepOrder = map[string]int{
	EventBeforeInstall: 1, EventInstall: 2, EventAfterInstall: 3, EventAllowTestTraffic: 4,
	EventAfterAllowTestTraffic: 5, EventBeforeAllowTraffic: 6, stepReady: 7, EventAllowTraffic: 8,
	EventAfterAllowTraffic: 9, stepTerminationWait: 10, stepTerminateBlue: 11,
}

func alarmsWatched(d *Deployment) bool {
	o := stepOrder[d.Step]
	return o > stepOrder[EventInstall] && o < stepOrder[stepTerminateBlue] && !d.Settings.Alarms.Disabled
}

// storeError marks a failed write: the runner cannot go on without
// saving, so it stops and the deployment resumes at the next Start.
type storeError struct{ err error }

func (e *storeError) Error() string { return "save deployment: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// runner drives one deployment. It lives in one goroutine.
type runner struct {
	c        *Controller
	id       string
	sig      <-chan struct{}
	alarm    AlarmStatus
	prev     Metrics
	havePrev bool
	samples  []Sample
	nextEval time.Time
}

// run steps the deployment until it is done, ctx ends, or a save fails.
func (c *Controller) run(ctx context.Context, id string, sig <-chan struct{}) {
	r := &runner{c: c, id: id, sig: sig}
	first := true
	for ctx.Err() == nil {
		d, err := c.Get(id)
		if err != nil {
			c.log.Error("load deployment", "id", id, "err", err)
			return
		}
		if first {
			r.alarm, first = d.Alarm, false
		}
		if d.Done() {
			c.log.Info("deployment finished", "id", id, "status", d.Status, "rolledBack", d.RolledBack)
			c.startNextQueued(d.Service)
			return
		}
		err = r.step(ctx, d)
		var se *storeError
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return
		case errors.As(err, &se):
			c.log.Error("deployment stopped: cannot save", "id", id, "err", err)
			return
		default:
			c.log.Warn("deployment step will be retried", "id", id, "step", d.Step, "err", err)
			t := c.opts.Clock.NewTimer(time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
		}
	}
}

// update loads the deployment afresh inside a transaction, applies fn,
// and saves it with the runner's alarm status. The fresh load keeps
// approvals and stop requests made meanwhile through the API.
func (r *runner) update(fn func(tx *store.Tx, d *Deployment) error) (*Deployment, error) {
	var out *Deployment
	err := r.c.update(func(tx *store.Tx) error {
		d, err := getDeployment(tx, r.id)
		if err != nil {
			return err
		}
		if err := fn(tx, d); err != nil {
			return err
		}
		d.Alarm = r.alarm
		out = d
		return putDeployment(tx, d)
	})
	if err != nil {
		return nil, &storeError{err}
	}
	return out, nil
}

func (r *runner) now() time.Time { return r.c.opts.Clock.Now().UTC() }

// setEvent changes one lifecycle event inside a transaction.
func (r *runner) setEvent(tx *store.Tx, name, status, diag string) error {
	ev, err := getEvent(tx, r.id, name)
	if err != nil {
		return err
	}
	ev.Status = status
	if diag != "" {
		ev.Diagnostics = diag
	}
	switch status {
	case EventInProgress:
		ev.Start = r.now()
	case EventSucceeded, EventFailed, EventUnknown:
		if ev.Start.IsZero() {
			ev.Start = r.now()
		}
		ev.End = r.now()
	}
	return putEvent(tx, r.id, ev)
}

// step runs the deployment's current step once.
func (r *runner) step(ctx context.Context, d *Deployment) error {
	if d.StopRequested && stepOrder[d.Step] > 0 && d.Step != stepTerminateBlue {
		return r.stopByRequest(d)
	}
	switch d.Step {
	case EventBeforeInstall:
		if d.Status == StatusCreated {
			if _, err := r.update(func(_ *store.Tx, d *Deployment) error {
				d.Status, d.Started = StatusInProgress, r.now()
				return nil
			}); err != nil {
				return err
			}
		}
		return r.hookStep(ctx, EventBeforeInstall, EventInstall)
	case EventInstall:
		return r.install(ctx, d)
	case EventAfterInstall:
		return r.hookStep(ctx, EventAfterInstall, EventAllowTestTraffic)
	case EventAllowTestTraffic:
		return r.allowTestTraffic(ctx, d)
	case EventAfterAllowTestTraffic:
		return r.hookStep(ctx, EventAfterAllowTestTraffic, EventBeforeAllowTraffic)
	case EventBeforeAllowTraffic:
		return r.hookStep(ctx, EventBeforeAllowTraffic, stepReady)
	case stepReady:
		return r.readyWait(ctx, d)
	case EventAllowTraffic:
		return r.allowTraffic(ctx, d)
	case EventAfterAllowTraffic:
		return r.hookStep(ctx, EventAfterAllowTraffic, stepTerminationWait)
	case stepTerminationWait:
		return r.terminationWait(ctx, d)
	case stepTerminateBlue:
		return r.terminateBlue(ctx, d)
	case stepRollback:
		return r.rollback(ctx, d)
	case stepFinish:
		_, err := r.update(func(tx *store.Tx, d *Deployment) error {
			d.Status, d.Completed, d.Step = d.Outcome, r.now(), stepDone
			return nil
		})
		return err
	}
	return &storeError{fmt.Errorf("deployment %s has unknown step %q", d.ID, d.Step)}
}

// fail ends the deployment with outcome (Failed or Stopped): the event in
// progress is marked failed, pending ones skipped, and the next step is a
// rollback when rollBack says so, else a plain finish.
func (r *runner) fail(outcome, code, msg string, rollBack bool) error {
	r.c.log.Warn("deployment ending", "id", r.id, "outcome", outcome, "code", code, "reason", msg, "rollback", rollBack)
	_, err := r.update(func(tx *store.Tx, d *Deployment) error {
		evs, err := getEvents(tx, d.ID)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			switch ev.Status {
			case EventInProgress:
				if err := r.setEvent(tx, ev.Name, EventFailed, msg); err != nil {
					return err
				}
			case EventPending:
				if err := r.setEvent(tx, ev.Name, EventSkipped, ""); err != nil {
					return err
				}
			}
		}
		d.Outcome, d.Error, d.WaitUntil = outcome, &ErrorInfo{Code: code, Message: msg}, time.Time{}
		d.Step = stepFinish
		if rollBack {
			d.Step = stepRollback
		}
		return nil
	})
	return err
}

func (r *runner) failure(d *Deployment, code, msg string) error {
	return r.fail(StatusFailed, code, msg, d.Settings.rollsBackOn(RollbackOnFailure))
}

// routerFailure fails the deployment for a router change that did not
// happen, unless the controller is stopping: then the call was cut off,
// not refused, and the deployment is left for the next start, which
// re-applies the weights saved before the call.
func (r *runner) routerFailure(ctx context.Context, d *Deployment, msg string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.failure(d, CodeInternal, msg)
}

func (r *runner) stopByRequest(d *Deployment) error {
	msg := "stopped by request"
	if d.StopNoRollback {
		msg += "; no rollback: traffic and task sets left as they were"
	}
	return r.fail(StatusStopped, CodeManualStop, msg, !d.StopNoRollback)
}

func (r *runner) alarmed(d *Deployment, v Verdict) error {
	return r.fail(StatusStopped, CodeAlarmActive, "alarm: "+v.Reason, d.Settings.rollsBackOn(RollbackOnAlarm))
}

// interrupted handles a wait that ended with an alarm or a stop request.
func (r *runner) interrupted(d *Deployment, w wake) error {
	switch w.kind {
	case wakeAlarm:
		return r.alarmed(d, w.verdict)
	case wakeStop:
		return r.stopByRequest(w.d)
	}
	return nil
}
