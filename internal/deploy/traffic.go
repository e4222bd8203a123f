package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/canaryflow/canaryflow/internal/store"
)

// allowTestTraffic points the test listener at green.
func (r *runner) allowTestTraffic(ctx context.Context, _ *Deployment) error {
	d, err := r.update(func(tx *store.Tx, d *Deployment) error {
		w, err := getWeights(tx, d.Service)
		if err != nil {
			return err
		}
		w.Test = d.GreenTaskSet
		if err := putWeights(tx, w); err != nil {
			return err
		}
		return r.setEvent(tx, EventAllowTestTraffic, EventInProgress, "")
	})
	if err != nil {
		return err
	}
	if err := r.c.opts.Traffic.SetTestTarget(ctx, d.Service, d.GreenTaskSet); err != nil {
		return r.routerFailure(ctx, d, fmt.Sprintf("point test listener at %s: %v", d.GreenTaskSet, err))
	}
	_, err = r.update(func(tx *store.Tx, d *Deployment) error {
		d.Step = EventAfterAllowTestTraffic
		return r.setEvent(tx, EventAllowTestTraffic, EventSucceeded, "")
	})
	return err
}

// readyWait holds production traffic back until approval when the ready
// option is STOP_DEPLOYMENT; past the wait time the deployment stops and
// green is removed.
func (r *runner) readyWait(ctx context.Context, d *Deployment) error {
	if d.Settings.ReadyAction == "STOP_DEPLOYMENT" && !d.Approved {
		if d.Status != StatusReady {
			var err error
			d, err = r.update(func(_ *store.Tx, d *Deployment) error {
				d.Status, d.WaitUntil = StatusReady, r.now().Add(d.Settings.ReadyWait)
				return nil
			})
			if err != nil {
				return err
			}
			r.c.log.Info("waiting for approval", "id", d.ID, "until", d.WaitUntil)
		}
		w, err := r.watch(ctx, d, d.WaitUntil, nil)
		switch {
		case err != nil:
			return err
		case w.kind == wakeDeadline:
			// An approval saved while the runner was busy has not woken
			// it yet: it came before the deadline was seen, so it counts.
			if fresh, err := r.c.Get(r.id); err != nil {
				return &storeError{err}
			} else if fresh.Approved {
				return nil
			}
			return r.fail(StatusStopped, CodeTimeout,
				fmt.Sprintf("not approved within the ready wait of %s", d.Settings.ReadyWait), true)
		case w.kind == wakeApproved:
			return nil // the next step sees Approved
		default:
			return r.interrupted(d, w)
		}
	}
	_, err := r.update(func(_ *store.Tx, d *Deployment) error {
		d.Status, d.WaitUntil, d.Step = StatusInProgress, time.Time{}, EventAllowTraffic
		return nil
	})
	return err
}

// allowTraffic shifts production traffic step by step. Each step's
// weights and the end of its wait are saved before the router changes,
// so a restart re-applies them and waits only what is left.
func (r *runner) allowTraffic(ctx context.Context, d *Deployment) error {
	steps := d.Settings.Strategy.Steps()
	last := len(steps) - 1
	for d.ShiftIndex <= last {
		if d.PromoteRequested && d.ShiftIndex < last {
			// Promote now: straight to the last step, no more waits.
			var err error
			if d, err = r.update(func(_ *store.Tx, d *Deployment) error {
				d.ShiftIndex, d.WaitUntil, d.StepTraffic = last, time.Time{}, nil
				return nil
			}); err != nil {
				return err
			}
			r.c.log.Info("promoted now", "id", d.ID)
		}
		i, p := d.ShiftIndex, steps[d.ShiftIndex]
		var w Weights
		var err error
		d, err = r.update(func(tx *store.Tx, d *Deployment) error {
			if d.ShiftIndex == 0 && d.GreenPercent == 0 {
				if err := r.setEvent(tx, EventAllowTraffic, EventInProgress, ""); err != nil {
					return err
				}
			}
			if d.GreenPercent != p || (i < last && d.WaitUntil.IsZero()) {
				d.GreenPercent = p
				d.WaitUntil = time.Time{}
				if i < last {
					d.WaitUntil = r.now().Add(d.Settings.Strategy.Interval)
				}
			}
			w = Weights{Service: d.Service, Blue: d.BlueTaskSet, Green: d.GreenTaskSet, GreenPercent: p, Test: d.GreenTaskSet}
			return putWeights(tx, w)
		})
		if err != nil {
			return err
		}
		if err := r.c.opts.Traffic.SetWeights(ctx, w); err != nil {
			return r.routerFailure(ctx, d, fmt.Sprintf("shift %d%% to green: %v", p, err))
		}
		r.c.log.Info("traffic shifted", "id", d.ID, "greenPercent", p)
		if i < last {
			if d, err = r.beginStep(ctx, d, i); err != nil {
				return err
			}
			wk, err := r.watch(ctx, d, d.WaitUntil, nil)
			if err != nil {
				return err
			}
			if wk.kind == wakeDeadline && needsEvidence(d) {
				if d, wk, err = r.awaitEvidence(ctx, d); err != nil {
					return err
				}
			}
			switch wk.kind {
			case wakeAlarm, wakeStop:
				return r.interrupted(d, wk)
			case wakeApproved:
				continue // nothing to approve here; keep waiting
			case wakePromote:
				d = wk.d
				continue // the loop's top jumps to the last step
			}
		}
		d, err = r.update(func(_ *store.Tx, d *Deployment) error {
			d.ShiftIndex, d.WaitUntil, d.StepTraffic = i+1, time.Time{}, nil
			return nil
		})
		if err != nil {
			return err
		}
	}
	_, err := r.update(func(tx *store.Tx, d *Deployment) error {
		d.Step = EventAfterAllowTraffic
		return r.setEvent(tx, EventAllowTraffic, EventSucceeded, "")
	})
	return err
}

// terminationWait keeps blue running, still watching alarms, so a
// rollback stays a weight change.
func (r *runner) terminationWait(ctx context.Context, d *Deployment) error {
	if d.Status != StatusBaking {
		var err error
		d, err = r.update(func(_ *store.Tx, d *Deployment) error {
			d.Status, d.WaitUntil = StatusBaking, r.now().Add(d.Settings.TerminationWait)
			return nil
		})
		if err != nil {
			return err
		}
	}
	for d.Settings.TerminationWait > 0 {
		w, err := r.watch(ctx, d, d.WaitUntil, nil)
		if err != nil {
			return err
		}
		if w.kind == wakeDeadline {
			break
		}
		if w.kind != wakeApproved {
			return r.interrupted(d, w)
		}
	}
	_, err := r.update(func(_ *store.Tx, d *Deployment) error {
		d.Step, d.WaitUntil = stepTerminateBlue, time.Time{}
		return nil
	})
	return err
}

// terminateBlue makes green the primary task set and removes blue.
func (r *runner) terminateBlue(ctx context.Context, d *Deployment) error {
	w := Weights{Service: d.Service, Blue: d.GreenTaskSet, Test: d.GreenTaskSet}
	if err := r.c.update(func(tx *store.Tx) error { return putWeights(tx, w) }); err != nil {
		return &storeError{err}
	}
	if err := r.c.opts.Traffic.SetWeights(ctx, w); err != nil {
		return fmt.Errorf("make %s primary: %w", d.GreenTaskSet, err)
	}
	if d.BlueTaskSet != "" {
		if err := r.c.retireTaskSet(ctx, d.Service, d.BlueTaskSet, d.Settings.StopGrace); err != nil {
			return err
		}
	}
	if r.alarm.State != AlarmActive && (r.alarm.NoTraffic || r.alarm.State == "" || r.alarm.Requests == 0) {
		r.alarm.State = AlarmInsufficientData
		r.alarm.NoTraffic = true
		r.alarm.Reason = "no traffic was seen on green: the alarms could not judge it, so its health is unproven"
	}
	_, err := r.update(func(tx *store.Tx, d *Deployment) error {
		ts, err := getTaskSet(tx, d.Service, d.GreenTaskSet)
		if err != nil {
			return err
		}
		ts.Status = TaskSetPrimary
		if err := putTaskSet(tx, ts); err != nil {
			return err
		}
		d.Status, d.Step, d.Completed = StatusSucceeded, stepDone, r.now()
		return nil
	})
	return err
}

// rollback sends all production traffic to blue in one router change,
// points the test listener back at blue, then drains and stops green.
// Blue's tasks are not touched.
func (r *runner) rollback(ctx context.Context, d *Deployment) error {
	w := Weights{Service: d.Service, Blue: d.BlueTaskSet, Test: d.BlueTaskSet}
	if err := r.c.update(func(tx *store.Tx) error { return putWeights(tx, w) }); err != nil {
		return &storeError{err}
	}
	if err := r.c.opts.Traffic.SetWeights(ctx, w); err != nil {
		return fmt.Errorf("roll back weights to %s: %w", d.BlueTaskSet, err)
	}
	if d.BlueTaskSet != "" {
		if err := r.c.opts.Traffic.SetTestTarget(ctx, d.Service, d.BlueTaskSet); err != nil {
			return fmt.Errorf("point test listener back at %s: %w", d.BlueTaskSet, err)
		}
	}
	r.c.log.Info("rolled back traffic", "id", d.ID, "blue", d.BlueTaskSet)
	if d.GreenTaskSet != "" {
		if err := r.c.retireTaskSet(ctx, d.Service, d.GreenTaskSet, d.Settings.StopGrace); err != nil {
			return err
		}
	}
	_, err := r.update(func(_ *store.Tx, d *Deployment) error {
		d.Status, d.RolledBack, d.Completed, d.Step, d.GreenPercent = d.Outcome, true, r.now(), stepDone, 0
		return nil
	})
	return err
}
