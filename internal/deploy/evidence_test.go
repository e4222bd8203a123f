package deploy

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestStepWithoutTrafficWaits: a canary step whose interval passes with
// no request to green stays at 10%, says it waits for traffic, and moves
// on once min_requests arrive.
func TestStepWithoutTrafficWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		e.tr.setRPS(0)
		n0 := len(e.tr.weightLog)
		d := e.create(e.register("v2"), baseSettings())
		start := time.Now()
		d = e.wait(d.ID, func(d *Deployment) bool { return d.StepTraffic != nil && d.StepTraffic.Waiting })
		if waited := time.Since(start); waited < 5*time.Minute {
			t.Errorf("waiting for traffic after %s, before the 5m interval passed", waited)
		}
		time.Sleep(30 * time.Minute)
		d, err := e.c.Get(d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.GreenPercent != 10 || d.Done() || d.StepTraffic == nil || !d.StepTraffic.Waiting ||
			d.StepTraffic.Requests != 0 || d.StepTraffic.Want != 10 {
			t.Fatalf("35m into a 5m step with no traffic: green %d%%, %+v", d.GreenPercent, d.StepTraffic)
		}
		if got := greenPercents(e.tr.weightLog[n0:]); !slices.Equal(got, []int{10}) {
			t.Fatalf("green weights %v, want only 10 before traffic", got)
		}
		e.tr.setRPS(1000)
		d = e.waitDone(d.ID)
		if d.Status != StatusSucceeded || d.StepTraffic != nil {
			t.Fatalf("after traffic came: %+v", d)
		}
		if got := greenPercents(e.tr.weightLog[n0:]); !slices.Equal(got, []int{10, 100}) {
			t.Errorf("green weights %v, want 10 100", got)
		}
	})
}

// TestStepNeedsMinRequests: a few requests, fewer than min_requests, are
// not enough evidence either.
func TestStepNeedsMinRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		s := baseSettings()
		s.Strategy = canary(time.Minute)
		s.Alarms.MinRequests = 1000
		e.tr.setRPS(10) // 1 a second reaches green at 10%: 60 in the interval
		d := e.create(e.register("v2"), s)
		d = e.wait(d.ID, func(d *Deployment) bool { return d.StepTraffic != nil && d.StepTraffic.Waiting })
		if d.GreenPercent != 10 || d.StepTraffic.Requests >= 1000 || d.StepTraffic.Requests < 50 {
			t.Fatalf("after the interval: green %d%%, %+v", d.GreenPercent, d.StepTraffic)
		}
		d = e.waitDone(d.ID)
		if d.Status != StatusSucceeded {
			t.Fatalf("deployment %+v", d)
		}
		if took := d.Completed.Sub(d.Started); took < 1000*time.Second {
			t.Errorf("promoted after %s, before 1000 requests at 1 a second could arrive", took)
		}
	})
}

// TestPromoteWithoutTraffic keeps the old behaviour: the interval alone
// moves the step on.
func TestPromoteWithoutTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		e.tr.setRPS(0)
		s := baseSettings()
		s.PromoteWithoutTraffic = true
		start := time.Now()
		d := e.waitDone(e.create(e.register("v2"), s).ID)
		if d.Status != StatusSucceeded || d.StepTraffic != nil {
			t.Fatalf("deployment %+v", d)
		}
		if took := time.Since(start); took > 6*time.Minute+30*time.Second {
			t.Errorf("took %s, want the 5m interval and 1m termination wait", took)
		}
	})
}

// TestAlarmWhileWaitingForTraffic: a step held for traffic still watches
// its alarms and rolls back when one breaches, and a stop still works.
func TestAlarmWhileWaitingForTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		e.tr.setRPS(0)
		d := e.create(e.register("v2"), baseSettings())
		e.wait(d.ID, func(d *Deployment) bool { return d.StepTraffic != nil && d.StepTraffic.Waiting })
		e.tr.mu.Lock()
		e.tr.unhealthy["v2"] = true
		e.tr.mu.Unlock()
		d = e.waitDone(d.ID)
		if d.Status != StatusStopped || d.Error == nil || d.Error.Code != CodeAlarmActive {
			t.Fatalf("deployment %+v", d)
		}
		checkRolledBack(t, e, d)

		d = e.create(e.register("v3"), baseSettings())
		e.wait(d.ID, func(d *Deployment) bool { return d.StepTraffic != nil && d.StepTraffic.Waiting })
		if err := e.c.Stop(e.ctx, d.ID, true); err != nil {
			t.Fatal(err)
		}
		d = e.waitDone(d.ID)
		if d.Status != StatusStopped || d.Error.Code != CodeManualStop || !d.RolledBack {
			t.Fatalf("stopped while waiting: %+v", d)
		}
	})
}

// TestFirstDeploymentNeedsNoTraffic: with no blue there is nothing to
// protect, so a first canary moves on at its interval without traffic.
func TestFirstDeploymentNeedsNoTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		e.tr.setRPS(0)
		d := e.waitDone(e.create(e.register("v1"), baseSettings()).ID)
		if d.Status != StatusSucceeded || d.StepTraffic != nil {
			t.Fatalf("first deployment %+v", d)
		}
	})
}
