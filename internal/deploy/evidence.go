package deploy

import (
	"context"

	"github.com/canaryflow/canaryflow/internal/store"
)

// StepTraffic is the evidence one traffic step has gathered: the requests
// green served since the step began. A canary or linear step moves on
// only once its interval has passed and it has seen at least Want
// requests (alarms.min_requests), so a machine stall that measured nothing
// cannot promote green; Settings.PromoteWithoutTraffic turns this off.
// A step that never gets its traffic waits, without a deadline, with its
// alarms still watched; stopping it rolls back as in any other step.
type StepTraffic struct {
	Step     int    `json:"step"`     // the ShiftIndex these counts belong to
	From     uint64 `json:"from"`     // green's request counter when the step began
	Known    bool   `json:"known"`    // From was read; false: read it at the next look
	Requests uint64 `json:"requests"` // green requests since the step began
	Want     int    `json:"want"`     // requests the step needs to move on
	// Waiting is true once the interval has passed with fewer than Want
	// requests: the step is held until they arrive.
	Waiting bool `json:"waiting"`
}

// stepCounter reads green's cumulative request counter; ok is false when
// the router could not say.
func (r *runner) stepCounter(ctx context.Context, d *Deployment) (uint64, bool) {
	m, err := r.c.opts.Traffic.Metrics(ctx, d.Service, d.GreenTaskSet)
	if err != nil {
		r.c.log.Warn("read green metrics", "id", d.ID, "err", err)
		return 0, false
	}
	return m.Requests, true
}

// needsEvidence reports whether a step must see traffic before it moves
// on: not when the settings say otherwise, and not for a first
// deployment, which has no blue to protect and no other version to serve.
func needsEvidence(d *Deployment) bool {
	return !d.Settings.PromoteWithoutTraffic && d.BlueTaskSet != ""
}

// beginStep saves where green's counter stood when step i began, unless
// this step already has its record (a restart resumes it).
func (r *runner) beginStep(ctx context.Context, d *Deployment, i int) (*Deployment, error) {
	if !needsEvidence(d) || (d.StepTraffic != nil && d.StepTraffic.Step == i) {
		return d, nil
	}
	from, ok := r.stepCounter(ctx, d)
	return r.update(func(_ *store.Tx, d *Deployment) error {
		d.StepTraffic = &StepTraffic{Step: i, From: from, Known: ok, Want: d.Settings.Alarms.MinRequests}
		return nil
	})
}

// awaitEvidence holds a step whose interval has passed until green has
// served the step's requests, looking again every alarm period on the
// controller's clock. It returns a wake of kind wakeDeadline when the
// step may move on, or the alarm or stop that ended the wait.
func (r *runner) awaitEvidence(ctx context.Context, d *Deployment) (*Deployment, wake, error) {
	for {
		st := *d.StepTraffic
		if cur, ok := r.stepCounter(ctx, d); ok {
			switch {
			case !st.Known:
				st.From, st.Known = cur, true
			case cur < st.From:
				st.From = 0 // the router restarted and counts from zero
			}
			st.Requests = cur - st.From
		}
		enough := st.Known && st.Requests >= uint64(st.Want)
		if !enough && !st.Waiting {
			r.c.log.Info("waiting for traffic", "id", d.ID, "requests", st.Requests, "want", st.Want)
		}
		st.Waiting = !enough
		var err error
		d, err = r.update(func(_ *store.Tx, d *Deployment) error {
			d.StepTraffic = &st
			return nil
		})
		if err != nil || enough {
			return d, wake{kind: wakeDeadline}, err
		}
		w, err := r.watch(ctx, d, r.c.opts.Clock.Now().Add(d.Settings.Alarms.Period), nil)
		if err != nil {
			return d, w, err
		}
		switch w.kind {
		case wakeAlarm, wakeStop, wakePromote:
			return d, w, nil
		}
	}
}
