package deploy

import (
	"context"
	"time"

	"github.com/canaryflow/canaryflow/internal/store"
)

// Why a wait ended.
const (
	wakeDeadline = iota + 1 // the clock passed the deadline
	wakeDone                // the operation waited on finished
	wakeAlarm               // an alarm breached
	wakeStop                // a stop was requested
	wakeApproved            // the ready wait was approved
	wakePromote             // promote now was asked for
)

type wake struct {
	kind    int
	err     error       // the operation's result, for wakeDone
	verdict Verdict     // for wakeAlarm
	d       *Deployment // the deployment as reloaded, for wakeStop and wakeApproved
}

// watch blocks until the clock reaches until (zero: no deadline), done
// yields (nil: nothing to wait for), a stop or approval arrives, or an
// alarm breaches — whichever is first. While alarms are watched for this
// step it samples green's metrics every alarm period.
func (r *runner) watch(ctx context.Context, d *Deployment, until time.Time, done <-chan error) (wake, error) {
	clock := r.c.opts.Clock
	policy := d.Settings.Alarms
	for {
		now := clock.Now()
		if !until.IsZero() && !now.Before(until) {
			return wake{kind: wakeDeadline}, nil
		}
		watching := alarmsWatched(d) && d.GreenTaskSet != ""
		if watching && r.nextEval.IsZero() {
			r.sampleBaseline(ctx, d)
			r.nextEval = now.Add(policy.Period)
		}
		next := until
		if watching && (next.IsZero() || r.nextEval.Before(next)) {
			next = r.nextEval
		}
		var tc <-chan time.Time
		var t Timer
		if !next.IsZero() {
			t = clock.NewTimer(max(next.Sub(now), 0))
			tc = t.C()
		}
		stopTimer := func() {
			if t != nil {
				t.Stop()
			}
		}
		select {
		case <-ctx.Done():
			stopTimer()
			return wake{}, ctx.Err()
		case err := <-done:
			stopTimer()
			return wake{kind: wakeDone, err: err}, nil
		case <-r.sig:
			stopTimer()
			fresh, err := r.c.Get(r.id)
			if err != nil {
				return wake{}, &storeError{err}
			}
			if fresh.StopRequested {
				return wake{kind: wakeStop, d: fresh}, nil
			}
			if fresh.Approved && !d.Approved {
				return wake{kind: wakeApproved, d: fresh}, nil
			}
			if fresh.PromoteRequested && !d.PromoteRequested && d.Step == EventAllowTraffic {
				return wake{kind: wakePromote, d: fresh}, nil
			}
		case <-tc:
			if watching && !clock.Now().Before(r.nextEval) {
				v, err := r.evaluate(ctx, d)
				if err != nil {
					return wake{}, err
				}
				if v.State == AlarmActive {
					return wake{kind: wakeAlarm, verdict: v}, nil
				}
			}
		}
	}
}

// sampleBaseline reads green's counters at the start of alarm watching.
func (r *runner) sampleBaseline(ctx context.Context, d *Deployment) {
	m, err := r.c.opts.Traffic.Metrics(ctx, d.Service, d.GreenTaskSet)
	if err != nil {
		r.c.log.Warn("read green metrics", "id", d.ID, "err", err)
		return
	}
	r.prev, r.havePrev = m, true
}

// evaluate takes one datapoint and judges the recent ones. The alarm
// status is saved when its state changes.
func (r *runner) evaluate(ctx context.Context, d *Deployment) (Verdict, error) {
	policy := d.Settings.Alarms
	r.nextEval = r.nextEval.Add(policy.Period)
	if now := r.c.opts.Clock.Now(); r.nextEval.Before(now) {
		r.nextEval = now.Add(policy.Period)
	}
	m, err := r.c.opts.Traffic.Metrics(ctx, d.Service, d.GreenTaskSet)
	if err != nil {
		// No reading is missing data for this period, not health.
		r.c.log.Warn("read green metrics", "id", d.ID, "err", err)
		m = r.prev
	}
	if !r.havePrev {
		r.prev, r.havePrev = m, true
		return Verdict{State: r.alarm.State}, nil
	}
	s := sampleBetween(r.prev, m)
	r.prev = m
	r.samples = append(r.samples, s)
	if n := policy.EvaluationPeriods; len(r.samples) > n {
		r.samples = r.samples[len(r.samples)-n:]
	}
	r.alarm.Requests += s.Requests
	r.alarm.Errors += s.Errors
	r.alarm.NoTraffic = r.alarm.Requests == 0
	r.alarm.EvaluatedAt = r.now()
	v := Evaluate(policy, r.samples)
	r.alarm.Last = evaluationOf(policy, s, r.alarm.EvaluatedAt)
	if v.State != r.alarm.State || v.Reason != r.alarm.Reason && v.State == AlarmActive {
		r.alarm.State, r.alarm.Reason, r.alarm.BreachedName = v.State, v.Reason, v.Breached
		r.c.log.Info("alarm state", "id", d.ID, "state", v.State, "reason", v.Reason)
	}
	// Every period is saved, not only a change of state: the page and
	// /metrics show each datapoint against its thresholds.
	if _, err := r.update(func(_ *store.Tx, _ *Deployment) error { return nil }); err != nil {
		return v, err
	}
	return v, nil
}
