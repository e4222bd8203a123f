package deploy

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/store"
)

// countWrites runs the whole scenario once without a crash and returns
// how many store writes the v2 deployment made.
func countWrites(t *testing.T, s Settings) int {
	var n int
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		v2 := e.register("v2")
		before := e.st.n
		d := e.waitDone(e.create(v2, s).ID)
		if d.Status != StatusSucceeded {
			t.Fatalf("uncrashed run: %+v", d)
		}
		n = e.st.n - before
	})
	return n
}

// TestCrashAndResumeAtEveryStep crashes the controller right after each
// write of a canary deployment (the write is on disk, its action is not
// done), builds a new controller over the same file with an empty router,
// and checks the deployment ends correctly: succeeded, or — when the
// crash caught a hook mid-run — failed with the hook never run twice and
// production back on blue.
func TestCrashAndResumeAtEveryStep(t *testing.T) {
	s := baseSettings()
	s.ReadyAction = "CONTINUE_DEPLOYMENT"
	total := countWrites(t, s)
	if total < 20 {
		t.Fatalf("only %d writes in a canary deployment?", total)
	}
	for k := 1; k <= total; k++ {
		t.Run(fmt.Sprintf("write%02d", k), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				baseline(e)
				v2 := e.register("v2")
				e.st.mu.Lock()
				e.st.at = e.st.n + k
				e.st.mu.Unlock()
				d, err := e.c.Create(e.ctx, CreateRequest{Service: "hello", Revision: v2, Settings: s})
				if err != nil && k > 1 {
					t.Fatal(err)
				}
				synctest.Wait()
				e.st.mu.Lock()
				tripped := e.st.tripped
				e.st.mu.Unlock()
				if !tripped {
					// The crash point is on a timer: let the clock run.
					for !tripped {
						time.Sleep(time.Second)
						e.st.mu.Lock()
						tripped = e.st.tripped
						e.st.mu.Unlock()
					}
				}
				e.restart(0)
				defer e.close()
				if d == nil { // the create itself was the crash point
					ds, _ := e.c.List("hello")
					d = &ds[len(ds)-1]
				}
				checkRestored(t, e)
				d = e.waitDone(d.ID)
				evs := e.events(d.ID)
				t.Logf("crash after write %d: resumed to %s", k, d.Status)
				for _, ev := range awsfmt.HookEvents() {
					if n := e.hooks.count(ev); n > 1 {
						t.Errorf("hook %s ran %d times", ev, n)
					}
				}
				switch d.Status {
				case StatusSucceeded:
					for _, ev := range awsfmt.HookEvents() {
						if e.hooks.count(ev) != 1 {
							t.Errorf("succeeded but hook %s ran %d times", ev, e.hooks.count(ev))
						}
					}
					w, _ := e.tr.state()
					if w.Blue != d.GreenTaskSet || w.Green != "" || sortedRunning(e) != "v2 v2" {
						t.Errorf("succeeded but router %+v running %s", w, sortedRunning(e))
					}
				case StatusFailed:
					unknown := ""
					for name, st := range evs {
						if st == EventUnknown {
							unknown = name
						}
					}
					if unknown == "" || d.Error.Code != CodeHookFailure || !strings.Contains(d.Error.Message, "not run twice") {
						t.Errorf("failed without an interrupted hook: %+v events %v", d, evs)
					}
					checkRolledBack(t, e, d)
				default:
					t.Errorf("ended %s: %+v", d.Status, d)
				}
			})
		})
	}
}

// checkRestored asserts that Restore put the saved weights on the new,
// empty router before anything else changed them.
func checkRestored(t *testing.T, e *env) {
	t.Helper()
	var saved Weights
	err := e.st.View(func(tx *store.Tx) (err error) {
		saved, err = getWeights(tx, "hello")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.tr.mu.Lock()
	defer e.tr.mu.Unlock()
	if len(e.tr.weightLog) == 0 {
		t.Fatal("restore set no weights")
	}
	if got := e.tr.weightLog[0]; got.Blue != saved.Blue && saved.Blue != "" {
		t.Errorf("restored weights %+v, saved %+v", got, saved)
	}
	for _, id := range []string{saved.Blue, saved.Green} {
		if id != "" && len(e.tr.groups[id]) == 0 {
			t.Errorf("target group %s not restored", id)
		}
	}
}

// TestResumeRestartsLostTasks restarts with a runtime that lost every
// task (a machine reboot): the same task IDs are started again.
func TestResumeRestartsLostTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		baseline(e)
		d := e.create(e.register("v2"), baseSettings())
		e.wait(d.ID, func(d *Deployment) bool { return d.GreenPercent == 10 })
		e.close()
		e.rt = newFakeRuntime()
		e.tr = newFakeTraffic(1000)
		e.open(0)
		defer e.close()
		if w, _ := e.tr.state(); w.GreenPercent != 10 {
			t.Errorf("restored weights %+v, want 10%% green", w)
		}
		if got := sortedRunning(e); got != "v1 v1 v2 v2" {
			t.Errorf("after restore running %q", got)
		}
		d = e.waitDone(d.ID)
		if d.Status != StatusSucceeded || sortedRunning(e) != "v2 v2" {
			t.Errorf("deployment %+v running %s", d, sortedRunning(e))
		}
	})
}

// TestResumeKeepsRemainingWait checks that a restart during the canary
// interval waits only what was left of it.
func TestResumeKeepsRemainingWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		baseline(e)
		start := time.Now()
		d := e.create(e.register("v2"), baseSettings())
		e.wait(d.ID, func(d *Deployment) bool { return d.GreenPercent == 10 })
		time.Sleep(2 * time.Minute)
		e.restart(0)
		defer e.close()
		e.waitDone(d.ID)
		if took := time.Since(start); took > 6*time.Minute+30*time.Second {
			t.Errorf("took %s: the restart restarted the 5m interval", took)
		}
	})
}
