package deploy

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

// baseline deploys v1 all at once so later deployments have a blue.
func baseline(e *env) int {
	e.t.Helper()
	v1 := e.register("v1")
	d := e.waitDone(e.create(v1, Settings{DesiredCount: 2, AutoRollback: allRollback()}).ID)
	if d.Status != StatusSucceeded {
		e.t.Fatalf("baseline deployment: %+v", d)
	}
	return v1
}

func sortedRunning(e *env) string {
	r := e.rt.running()
	sort.Strings(r)
	return strings.Join(r, " ")
}

func greenPercents(ws []Weights) []int {
	var out []int
	for _, w := range ws {
		if w.Green != "" {
			out = append(out, w.GreenPercent)
		}
	}
	return out
}

func TestCanarySuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		v1 := baseline(e)
		v2 := e.register("v2")
		start := time.Now()
		d := e.waitDone(e.create(v2, baseSettings()).ID)
		took := time.Since(start)
		if d.Status != StatusSucceeded || d.RolledBack || d.PreviousRevision != v1 || d.Revision != v2 {
			t.Fatalf("deployment = %+v", d)
		}
		for name, st := range e.events(d.ID) {
			if st != EventSucceeded {
				t.Errorf("event %s = %s", name, st)
			}
		}
		if got := strings.Join(e.hooks.order, ","); got != strings.Join(awsfmt.HookEvents(), ",") {
			t.Errorf("hooks ran %s", got)
		}
		if got := greenPercents(e.tr.weightLog); !slices.Equal(got[len(got)-2:], []int{10, 100}) {
			t.Errorf("green weights %v, want … 10 100", got)
		}
		w, test := e.tr.state()
		if w.Blue != d.GreenTaskSet || w.Green != "" || test != d.GreenTaskSet {
			t.Errorf("final router state %+v test=%s", w, test)
		}
		if got := sortedRunning(e); got != "v2 v2" {
			t.Errorf("running = %s, want v2 v2 (blue terminated)", got)
		}
		if took < 6*time.Minute || took > 6*time.Minute+30*time.Second {
			t.Errorf("canary took %s of clock time, want 5m interval + 1m termination wait", took)
		}
		if d.Alarm.State != AlarmOK || d.Alarm.Requests == 0 {
			t.Errorf("alarm = %+v", d.Alarm)
		}
		st, err := e.c.Services()
		if err != nil || len(st) != 1 || st[0].LiveRevision != v2 || st[0].Active != "" {
			t.Errorf("services = %+v %v", st, err)
		}
	})
}

func TestLinear(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		s := baseSettings()
		s.Strategy = awsfmt.TrafficRouting{Type: awsfmt.TimeBasedLinear, Percent: 10, Interval: time.Minute}
		n0 := len(e.tr.weightLog)
		start := time.Now()
		d := e.waitDone(e.create(e.register("v2"), s).ID)
		if d.Status != StatusSucceeded {
			t.Fatalf("deployment = %+v", d)
		}
		got := greenPercents(e.tr.weightLog[n0:])
		if want := []int{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}; !slices.Equal(got, want) {
			t.Errorf("green weights %v, want %v", got, want)
		}
		if took := time.Since(start); took < 10*time.Minute {
			t.Errorf("linear took %s, want 9 intervals of 1m + 1m termination wait", took)
		}
	})
}

func TestAllAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		s := baseSettings()
		s.Strategy, s.TerminationWait = awsfmt.TrafficRouting{Type: awsfmt.AllAtOnce}, 0
		d := e.waitDone(e.create(e.register("v2"), s).ID)
		if d.Status != StatusSucceeded || sortedRunning(e) != "v2 v2" {
			t.Fatalf("deployment = %+v running %s", d, sortedRunning(e))
		}
		if got := greenPercents(e.tr.weightLog); got[len(got)-1] != 100 || slices.Contains(got, 10) {
			t.Errorf("green weights %v, want straight to 100", got)
		}
		// No alarm period elapsed with traffic on green: the status says so.
		if d.Alarm.State != AlarmInsufficientData || !strings.Contains(d.Alarm.Reason, "no traffic") {
			t.Errorf("alarm = %+v", d.Alarm)
		}
	})
}

// checkRolledBack asserts production is on blue (v1) only and green is gone.
func checkRolledBack(t *testing.T, e *env, d *Deployment) {
	t.Helper()
	if !d.RolledBack {
		t.Errorf("not rolled back: %+v", d)
	}
	w, test := e.tr.state()
	if w.Blue != d.BlueTaskSet || w.Green != "" || w.GreenPercent != 0 {
		t.Errorf("router weights %+v, want all on blue %s", w, d.BlueTaskSet)
	}
	if test != "" && test != d.BlueTaskSet {
		t.Errorf("test listener on %s, want blue %s", test, d.BlueTaskSet)
	}
	if got := sortedRunning(e); got != "v1 v1" {
		t.Errorf("running = %q, want blue's tasks untouched and green stopped", got)
	}
	for id, n := range e.rt.stops {
		if strings.Contains(id, d.BlueTaskSet) && n > 0 {
			t.Errorf("blue task %s was stopped", id)
		}
	}
}

func TestFailingHookAtEachHook(t *testing.T) {
	for i, event := range awsfmt.HookEvents() {
		t.Run(event, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				defer e.close()
				baseline(e)
				e.hooks.fail[event] = true
				d := e.waitDone(e.create(e.register("v2"), baseSettings()).ID)
				if d.Status != StatusFailed || d.Error == nil || d.Error.Code != CodeHookFailure {
					t.Fatalf("deployment = %+v", d)
				}
				checkRolledBack(t, e, d)
				evs := e.events(d.ID)
				if evs[event] != EventFailed {
					t.Errorf("event %s = %s, want Failed", event, evs[event])
				}
				for j, later := range awsfmt.HookEvents() {
					if j > i && evs[later] != EventSkipped {
						t.Errorf("later event %s = %s, want Skipped", later, evs[later])
					}
					if j < i && evs[later] != EventSucceeded {
						t.Errorf("earlier event %s = %s, want Succeeded", later, evs[later])
					}
				}
				for _, ev := range awsfmt.HookEvents() {
					if n := e.hooks.count(ev); n > 1 {
						t.Errorf("hook %s ran %d times", ev, n)
					}
				}
			})
		})
	}
}

func TestAlarmAtTenPercent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		e.tr.errRate["v2"] = 1
		n0 := len(e.tr.weightLog)
		start := time.Now()
		d := e.waitDone(e.create(e.register("v2"), baseSettings()).ID)
		if d.Status != StatusStopped || d.Error.Code != CodeAlarmActive || !strings.Contains(d.Error.Message, "error rate") {
			t.Fatalf("deployment = %+v", d)
		}
		checkRolledBack(t, e, d)
		if got := greenPercents(e.tr.weightLog[n0:]); !slices.Equal(got, []int{10}) {
			t.Errorf("green reached 100%%: %v", got)
		}
		if took := time.Since(start); took > time.Minute {
			t.Errorf("alarm took %s: want about 2 periods of 10s", took)
		}
		if e.events(d.ID)[EventAllowTraffic] != EventFailed {
			t.Errorf("AllowTraffic = %s", e.events(d.ID)[EventAllowTraffic])
		}
	})
}

func TestAlarmDuringBake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		d := e.create(e.register("v2"), baseSettings())
		e.wait(d.ID, func(d *Deployment) bool { return d.Status == StatusBaking })
		e.tr.mu.Lock()
		e.tr.errRate["v2"] = 0.5
		e.tr.mu.Unlock()
		d = e.waitDone(d.ID)
		if d.Status != StatusStopped || d.Error.Code != CodeAlarmActive {
			t.Fatalf("deployment = %+v", d)
		}
		checkRolledBack(t, e, d)
	})
}

func TestUnhealthyGreenAlarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		d := e.create(e.register("v2"), baseSettings())
		e.wait(d.ID, func(d *Deployment) bool { return d.GreenPercent == 10 })
		e.tr.mu.Lock()
		e.tr.unhealthy["v2"] = true
		e.tr.mu.Unlock()
		d = e.waitDone(d.ID)
		if d.Status != StatusStopped || !strings.Contains(d.Error.Message, "unhealthy") {
			t.Fatalf("deployment = %+v", d)
		}
		checkRolledBack(t, e, d)
	})
}

func TestInstallTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		e.tr.unhealthy["v2"] = true
		s := baseSettings()
		s.InstallTimeout = time.Minute
		d := e.waitDone(e.create(e.register("v2"), s).ID)
		if d.Status != StatusFailed || d.Error.Code != CodeHealth || e.events(d.ID)[EventInstall] != EventFailed {
			t.Fatalf("deployment = %+v", d)
		}
		checkRolledBack(t, e, d)
	})
}

func TestStartFailureFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		e.rt.failImage["v2"] = true
		d := e.waitDone(e.create(e.register("v2"), baseSettings()).ID)
		if d.Status != StatusFailed || !strings.Contains(d.Error.Message, "exec format error") {
			t.Fatalf("deployment = %+v", d)
		}
		checkRolledBack(t, e, d)
	})
}

func TestStopInEachPhase(t *testing.T) {
	for _, tc := range []struct {
		phase string
		setup func(e *env, s *Settings)
		at    func(d *Deployment) bool
	}{
		{"BeforeInstall hook", func(e *env, s *Settings) { e.hooks.block[EventBeforeInstall] = true },
			func(d *Deployment) bool { return d.Step == EventBeforeInstall && d.Status == StatusInProgress }},
		{"Install", func(e *env, s *Settings) { e.tr.unhealthy["v2"] = true },
			func(d *Deployment) bool { return d.Step == EventInstall && d.GreenTaskSet != "" }},
		{"AfterAllowTestTraffic hook", func(e *env, s *Settings) { e.hooks.block[EventAfterAllowTestTraffic] = true },
			func(d *Deployment) bool { return d.Step == EventAfterAllowTestTraffic }},
		{"ready wait", func(e *env, s *Settings) { s.ReadyAction = "STOP_DEPLOYMENT" },
			func(d *Deployment) bool { return d.Status == StatusReady }},
		{"canary interval", func(e *env, s *Settings) {},
			func(d *Deployment) bool { return d.GreenPercent == 10 }},
		{"AfterAllowTraffic hook", func(e *env, s *Settings) { e.hooks.block[EventAfterAllowTraffic] = true },
			func(d *Deployment) bool { return d.Step == EventAfterAllowTraffic }},
		{"termination wait", func(e *env, s *Settings) {},
			func(d *Deployment) bool { return d.Status == StatusBaking }},
	} {
		t.Run(tc.phase, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				defer e.close()
				baseline(e)
				s := baseSettings()
				tc.setup(e, &s)
				d := e.create(e.register("v2"), s)
				e.wait(d.ID, tc.at)
				if err := e.c.Stop(e.ctx, d.ID, true); err != nil {
					t.Fatal(err)
				}
				d = e.waitDone(d.ID)
				if d.Status != StatusStopped || d.Error.Code != CodeManualStop {
					t.Fatalf("deployment = %+v", d)
				}
				checkRolledBack(t, e, d)
				if err := e.c.Stop(e.ctx, d.ID, true); !errors.Is(err, ErrFinished) {
					t.Errorf("second stop: %v", err)
				}
			})
		})
	}
}

func TestStopWithoutRollbackLeavesTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		d := e.create(e.register("v2"), baseSettings())
		e.wait(d.ID, func(d *Deployment) bool { return d.GreenPercent == 10 })
		if err := e.c.Stop(e.ctx, d.ID, false); err != nil {
			t.Fatal(err)
		}
		d = e.waitDone(d.ID)
		if d.Status != StatusStopped || d.RolledBack {
			t.Fatalf("deployment = %+v", d)
		}
		if w, _ := e.tr.state(); w.GreenPercent != 10 || w.Green != d.GreenTaskSet {
			t.Errorf("weights %+v, want left at 10%% green", w)
		}
		// The next deployment retires the leftover green first.
		s := baseSettings()
		s.Strategy, s.TerminationWait = awsfmt.TrafficRouting{Type: awsfmt.AllAtOnce}, 0
		d3 := e.waitDone(e.create(e.register("v3"), s).ID)
		if d3.Status != StatusSucceeded || d3.PreviousRevision != 1 || sortedRunning(e) != "v3 v3" {
			t.Errorf("next deployment %+v running %s", d3, sortedRunning(e))
		}
	})
}

func TestReadyWaitApproved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		s := baseSettings()
		s.ReadyAction, s.ReadyWait = "STOP_DEPLOYMENT", time.Hour
		d := e.create(e.register("v2"), s)
		e.wait(d.ID, func(d *Deployment) bool { return d.Status == StatusReady })
		time.Sleep(30 * time.Minute)
		if w, _ := e.tr.state(); w.GreenPercent != 0 {
			t.Fatalf("traffic moved before approval: %+v", w)
		}
		if err := e.c.Approve(e.ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		d = e.waitDone(d.ID)
		if d.Status != StatusSucceeded {
			t.Fatalf("deployment = %+v", d)
		}
		if err := e.c.Approve(e.ctx, d.ID); !errors.Is(err, ErrFinished) {
			t.Errorf("approve after the end: %v", err)
		}
	})
}

func TestReadyWaitTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		s := baseSettings()
		s.ReadyAction, s.ReadyWait = "STOP_DEPLOYMENT", 10*time.Minute
		start := time.Now()
		d := e.waitDone(e.create(e.register("v2"), s).ID)
		if d.Status != StatusStopped || d.Error.Code != CodeTimeout {
			t.Fatalf("deployment = %+v", d)
		}
		if took := time.Since(start); took < 10*time.Minute {
			t.Errorf("stopped after %s, before the ready wait ended", took)
		}
		checkRolledBack(t, e, d)
	})
}

func TestConcurrentDeploymentRefusedOrQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		v2, v3 := e.register("v2"), e.register("v3")
		d2 := e.create(v2, baseSettings())
		_, err := e.c.Create(e.ctx, CreateRequest{Service: "hello", Revision: v3, Settings: baseSettings()})
		var ae *ActiveError
		if !errors.As(err, &ae) || ae.ID != d2.ID || !errors.Is(err, ErrActive) {
			t.Fatalf("second create: %v", err)
		}
		d3, err := e.c.Create(e.ctx, CreateRequest{Service: "hello", Revision: v3, Settings: baseSettings(), Queue: true})
		if err != nil || d3.Status != StatusQueued {
			t.Fatalf("queued create: %+v %v", d3, err)
		}
		d2 = e.waitDone(d2.ID)
		d3 = e.waitDone(d3.ID)
		if d2.Status != StatusSucceeded || d3.Status != StatusSucceeded {
			t.Fatalf("d2 %s d3 %s", d2.Status, d3.Status)
		}
		if d3.PreviousRevision != v2 || !d3.Started.After(d2.Completed) && !d3.Started.Equal(d2.Completed) {
			t.Errorf("queued deployment ran in parallel or from the wrong blue: %+v", d3)
		}
		if sortedRunning(e) != "v3 v3" {
			t.Errorf("running %s", sortedRunning(e))
		}
	})
}

func TestRollbackTargetGoodBadBad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		v1 := baseline(e)
		var blue string
		for _, img := range []string{"v2", "v3"} {
			e.tr.errRate[img] = 1
			d := e.waitDone(e.create(e.register(img), baseSettings()).ID)
			if d.Status != StatusStopped || d.PreviousRevision != v1 {
				t.Fatalf("%s: deployment %+v, want stopped with rollback target %d", img, d, v1)
			}
			if blue == "" {
				blue = d.BlueTaskSet
			}
			if d.BlueTaskSet != blue {
				t.Errorf("%s rolled back to %s, want the good task set %s", img, d.BlueTaskSet, blue)
			}
			checkRolledBack(t, e, d)
		}
		st, _ := e.c.Services()
		if st[0].LiveRevision != v1 {
			t.Errorf("live revision %d, want %d", st[0].LiveRevision, v1)
		}
	})
}

func TestManualRollbackSkipsBake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		v1 := baseline(e)
		s := baseSettings()
		e.waitDone(e.create(e.register("v2"), s).ID)
		start := time.Now()
		d, err := e.c.Rollback(e.ctx, "hello", "", s)
		if err != nil {
			t.Fatal(err)
		}
		d = e.waitDone(d.ID)
		if d.Status != StatusSucceeded || d.Revision != v1 || d.Creator != "rollback" {
			t.Fatalf("rollback deployment %+v", d)
		}
		if took := time.Since(start); took > time.Minute {
			t.Errorf("rollback took %s: the bake should be skipped", took)
		}
		if sortedRunning(e) != "v1 v1" {
			t.Errorf("running %s", sortedRunning(e))
		}
		// Rolling back during a deployment stops it with rollback.
		d3 := e.create(e.register("v3"), s)
		e.wait(d3.ID, func(d *Deployment) bool { return d.GreenPercent == 10 })
		if _, err := e.c.Rollback(e.ctx, "hello", "", s); err != nil {
			t.Fatal(err)
		}
		d3 = e.waitDone(d3.ID)
		if d3.Status != StatusStopped || !d3.RolledBack {
			t.Errorf("in-flight rollback %+v", d3)
		}
	})
}

func TestNoTrafficIsNotHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		e.tr.setRPS(0)
		s := baseSettings()
		s.PromoteWithoutTraffic = true
		d := e.waitDone(e.create(e.register("v2"), s).ID)
		if d.Status != StatusSucceeded || d.Alarm.State != AlarmInsufficientData || !d.Alarm.NoTraffic ||
			!strings.Contains(d.Alarm.Reason, "no traffic was seen") {
			t.Fatalf("deployment %+v", d)
		}
		s.Alarms.MissingIsBreaching = true
		d = e.waitDone(e.create(e.register("v3"), s).ID)
		if d.Status != StatusStopped || d.Error.Code != CodeAlarmActive {
			t.Fatalf("with missing data breaching: %+v", d)
		}
	})
}

func TestFirstDeploymentHasNoRollbackTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		if _, err := e.c.Rollback(e.ctx, "hello", "", Settings{}); !errors.Is(err, ErrNoPrevious) {
			t.Errorf("rollback with nothing live: %v", err)
		}
		e.hooks.fail[EventAfterInstall] = true
		d := e.waitDone(e.create(e.register("v1"), baseSettings()).ID)
		if d.Status != StatusFailed || d.PreviousRevision != 0 || len(e.rt.running()) != 0 {
			t.Fatalf("deployment %+v running %v", d, e.rt.running())
		}
	})
}
