package deploy

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestShutdownDuringHookIsNotAHookFailure stops the controller while a
// hook runs, at the moment that made TestE2ECrashInEachHook flaky under
// load: the runner is busy (here: reading metrics for the alarms) when
// the stop cancels the hook's call, so by the time it waits again both
// the stop and the hook's "cancelled" error are ready. Whichever it picks,
// the hook's outcome is unknown: the next controller must find the event
// still InProgress and fail the deployment as Unknown, never record the
// cut-off call as the hook failing. Go picks at random among ready cases,
// so the scenario runs many times.
func TestShutdownDuringHookIsNotAHookFailure(t *testing.T) {
	for i := range 24 {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t)
			baseline(e)
			const event = "AfterAllowTestTraffic"
			e.hooks.block[event] = true
			d := e.create(e.register("v2"), baseSettings())
			for e.hooks.count(event) == 0 {
				time.Sleep(100 * time.Millisecond)
			}
			// Hold the runner in its next metrics read (the alarm period).
			entered, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			e.tr.mu.Lock()
			e.tr.onMetrics = func() {
				once.Do(func() { close(entered); <-release })
			}
			e.tr.mu.Unlock()
			<-entered
			closed := make(chan struct{})
			go func() { e.c.Close(); close(closed) }()
			synctest.Wait() // the hook has seen the stop and returned its error
			close(release)
			<-closed
			e.st.Store.Close()

			e.tr.mu.Lock()
			e.tr.onMetrics = nil
			e.tr.mu.Unlock()
			e.hooks.block[event] = false
			e.open(0)
			defer e.close()
			got := e.waitDone(d.ID)
			if ev := e.events(d.ID)[event]; ev != EventUnknown || got.Error == nil || !strings.Contains(got.Error.Message, "outcome is unknown") {
				t.Fatalf("try %d: after a stop during %s: event %s, deployment %s %+v", i, event, ev, got.Status, got.Error)
			}
			if n := e.hooks.count(event); n != 1 {
				t.Fatalf("try %d: hook ran %d times", i, n)
			}
		})
	}
}

// TestApprovalBeforeReadyDeadlineWins approves a deployment in its ready
// wait while the runner is busy (reading metrics for the alarms), and the
// clock then passes the wait's end before the runner looks again: the
// approval came first and was saved, so the deployment goes on instead of
// stopping with TIMEOUT. (TestE2ECrashAndResume's drive approves and then
// moves the clock, and failed so under load.)
func TestApprovalBeforeReadyDeadlineWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		s := baseSettings()
		s.ReadyAction, s.ReadyWait = "STOP_DEPLOYMENT", time.Hour
		d := e.create(e.register("v2"), s)
		e.wait(d.ID, func(d *Deployment) bool { return d.Status == StatusReady })
		entered, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		e.tr.mu.Lock()
		e.tr.onMetrics = func() { once.Do(func() { close(entered); <-release }) }
		e.tr.mu.Unlock()
		<-entered
		if err := e.c.Approve(e.ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Hour) // past the ready wait, the runner still busy
		close(release)
		got := e.waitDone(d.ID)
		if got.Status != StatusSucceeded {
			t.Fatalf("approved before the ready wait ended, the deployment ended %s: %+v", got.Status, got.Error)
		}
	})
}

// TestShutdownDuringTrafficShiftIsNotAFailure stops the controller while
// the router is being told to shift 10% to green, as a SIGTERM did in
// TestDaemonRestartsDropNoRequest: the router call fails because the stop
// cancelled it, not because the router refused. The deployment must be
// left for the next start, which re-applies the saved weights and goes on
// to succeed, never end Failed with the cancellation as its reason.
func TestShutdownDuringTrafficShiftIsNotAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		baseline(e)
		entered := make(chan struct{})
		var once sync.Once
		e.tr.mu.Lock()
		e.tr.onSetWeights = func(ctx context.Context, w Weights) error {
			if w.GreenPercent != 10 {
				return nil
			}
			first := false
			once.Do(func() { first = true })
			if !first {
				return nil
			}
			close(entered)
			<-ctx.Done() // the router call is cut off by the stop
			return ctx.Err()
		}
		e.tr.mu.Unlock()
		s := baseSettings()
		s.Hooks = nil
		d := e.create(e.register("v2"), s)
		<-entered
		e.close()

		e.open(0)
		defer e.close()
		got := e.waitDone(d.ID)
		if got.Status != StatusSucceeded {
			t.Fatalf("after a stop during the shift to 10%%: deployment %s %+v, want Succeeded", got.Status, got.Error)
		}
	})
}
