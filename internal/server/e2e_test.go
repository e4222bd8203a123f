package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/deploy"
)

// The end-to-end tests of issue 5: the real daemon with the process
// runtime, examples/hello built by canaryflow, the real router and HTTP
// hooks, with a clock the test moves so AWS's minute-long configs run in
// milliseconds. Each test has its own daemon and runs in parallel.

const canary5m = "  deployment_config: CodeDeployDefault.ECSCanary10Percent5Minutes\n"

// TestE2ECanaryAlarmsAndRollbackTarget: a canary that succeeds; an alarm
// at 10%; an alarm during the termination wait (the bake); and the
// rollback target over a good → bad → bad history.
func TestE2ECanaryAlarmsAndRollbackTarget(t *testing.T) {
	t.Parallel()
	e := newE2E(t, canary5m)
	ctx := context.Background()
	first := e.succeed("1.0.0")
	if first.PreviousRevision != 0 || e.production() != "Version: 1.0.0" {
		t.Fatalf("first deployment: %+v, production %q", first, e.production())
	}

	// Canary success: 10% for 5 (clock) minutes, then 100%, the bake,
	// blue terminated; every hook once.
	d := e.create("2.0.0", "", allHooks(nil))
	v := e.wait(d.ID, "at 10%", func(v *DeploymentView) bool {
		return v.Deployment.GreenPercent == 10 && v.Traffic != nil && v.Traffic.GreenPercent == 10
	})
	if got := getBody(t, "127.0.0.1:"+itoa(e.cfg.Service.Listeners.TestPort)); got != "Version: 2.0.0" {
		t.Errorf("test listener answers %q, want green", got)
	}
	seen := map[string]int{}
	for range 200 {
		seen[e.production()]++
	}
	if n := seen["Version: 2.0.0"]; n < 4 || n > 50 || seen["Version: 1.0.0"]+n != 200 {
		t.Errorf("at 10%% production answered %v", seen)
	}
	blue := v.Deployment.BlueTaskSet
	e.clock.Advance(5 * time.Minute)
	v = e.wait(d.ID, "baking", func(v *DeploymentView) bool { return v.Deployment.Status == deploy.StatusBaking })
	if v.Deployment.GreenPercent != 100 || e.production() != "Version: 2.0.0" || len(e.running(blue)) != 2 {
		t.Errorf("in the bake: %d%% green, production %q, blue runs %v", v.Deployment.GreenPercent, e.production(), e.running(blue))
	}
	e.clock.Advance(5 * time.Minute)
	v = e.waitDone(d.ID)
	if v.Deployment.Status != deploy.StatusSucceeded || v.Deployment.PreviousRevision != first.Revision || len(e.running(blue)) != 0 {
		t.Errorf("canary: %+v; blue still runs %v", v.Deployment, e.running(blue))
	}
	for _, ev := range awsfmt.HookEvents() {
		if n := e.hooks.count(d.ID, ev); n != 1 {
			t.Errorf("hook %s ran %d times", ev, n)
		}
	}
	good := v.Deployment

	// A broken release under load: the alarm stops it at 10% (the clock
	// never passes the canary interval) and traffic returns to 2.0.0.
	blueTasks := e.running(good.GreenTaskSet)
	l := startLoad(e.d.prod, 4)
	d = e.create("3.0.0", "5xx", nil)
	v = e.waitDone(d.ID)
	l.end()
	evs := events(v)
	if v.Deployment.Status != deploy.StatusStopped || v.Deployment.Error == nil || v.Deployment.Error.Code != deploy.CodeAlarmActive ||
		evs["AllowTraffic"] != deploy.EventFailed || evs["AfterAllowTraffic"] != deploy.EventSkipped {
		t.Errorf("alarm at 10%%: %+v events %v", v.Deployment, evs)
	}
	e.checkRolledBack(v, blueTasks, "Version: 2.0.0")
	bad1 := v.Deployment

	// Broken again, but no traffic reaches it until the bake: the alarm
	// fires during the termination wait, and blue, still running, takes
	// the traffic back.
	d = e.create("4.0.0", "5xx", nil)
	e.drive(d.ID, func(v *DeploymentView) bool { return v.Deployment.Status == deploy.StatusBaking })
	l = startLoad(e.d.prod, 4)
	v = e.waitDone(d.ID)
	l.end()
	evs = events(v)
	if v.Deployment.Status != deploy.StatusStopped || v.Deployment.Error == nil || v.Deployment.Error.Code != deploy.CodeAlarmActive ||
		evs["AllowTraffic"] != deploy.EventSucceeded || evs["AfterAllowTraffic"] != deploy.EventSucceeded {
		t.Errorf("alarm in the bake: %+v events %v", v.Deployment, evs)
	}
	e.checkRolledBack(v, blueTasks, "Version: 2.0.0")
	bad2 := v.Deployment

	// good → bad → bad: both bad ones rolled back to the good revision
	// live when they started, and `deploy rollback` goes to the good one
	// before it.
	if bad1.PreviousRevision != good.Revision || bad2.PreviousRevision != good.Revision {
		t.Errorf("rollback targets %d and %d, want %d", bad1.PreviousRevision, bad2.PreviousRevision, good.Revision)
	}
	rb, err := e.d.client.Rollback(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v = e.waitDone(rb.ID)
	if v.Deployment.Status != deploy.StatusSucceeded || v.Deployment.Revision != first.Revision ||
		v.Deployment.PreviousRevision != good.Revision || v.Deployment.Creator != "rollback" {
		t.Errorf("rollback: %+v", v.Deployment)
	}
	if got := e.production(); got != "Version: 1.0.0" {
		t.Errorf("after rollback production answers %q", got)
	}
}

// TestE2ELinear shifts 10% a (clock) minute and checks the router at
// every step.
func TestE2ELinear(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "  deployment_config: CodeDeployDefault.ECSLinear10PercentEvery1Minutes\n  termination_wait: 1s\n")
	e.succeed("1.0.0")
	d := e.create("2.0.0", "", nil)
	for p := 10; p <= 90; p += 10 {
		e.wait(d.ID, "at "+itoa(p)+"%", func(v *DeploymentView) bool {
			return v.Deployment.GreenPercent == p && v.Traffic != nil && v.Traffic.GreenPercent == float64(p)
		})
		e.clock.Advance(time.Minute)
	}
	if v := e.drive(d.ID, nil); v.Deployment.Status != deploy.StatusSucceeded {
		t.Fatalf("linear: %+v", v.Deployment)
	}
	if got := e.production(); got != "Version: 2.0.0" {
		t.Errorf("production answers %q", got)
	}
}

// TestE2EAllAtOnce moves all traffic in one step: it reaches the bake
// at 100% without the clock moving.
func TestE2EAllAtOnce(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "  deployment_config: CodeDeployDefault.ECSAllAtOnce\n")
	e.succeed("1.0.0")
	d := e.create("2.0.0", "", nil)
	v := e.wait(d.ID, "baking", func(v *DeploymentView) bool { return v.Deployment.Status == deploy.StatusBaking })
	if v.Deployment.GreenPercent != 100 || v.Traffic == nil || v.Traffic.GreenPercent != 100 || e.production() != "Version: 2.0.0" {
		t.Errorf("all at once: %d%% saved, router %+v, production %q", v.Deployment.GreenPercent, v.Traffic, e.production())
	}
	if v := e.drive(d.ID, nil); v.Deployment.Status != deploy.StatusSucceeded {
		t.Fatalf("all at once: %+v", v.Deployment)
	}
}

// TestE2EFailingHookAtEachHook fails the hook of each of the five hook
// events in turn: Failed, later events skipped and their hooks not run,
// traffic on blue, green stopped.
func TestE2EFailingHookAtEachHook(t *testing.T) {
	t.Parallel()
	e := newE2E(t, canary5m)
	live := e.succeed("1.0.0")
	hookEvents := awsfmt.HookEvents()
	for i, event := range hookEvents {
		blueTasks := e.running(live.GreenTaskSet)
		d := e.create("2.0.0-"+strings.ToLower(event), "", allHooks(map[string]string{event: "Fail"}))
		v := e.drive(d.ID, nil)
		evs := events(v)
		if v.Deployment.Status != deploy.StatusFailed || v.Deployment.Error == nil || v.Deployment.Error.Code != deploy.CodeHookFailure ||
			!strings.Contains(v.Deployment.Error.Message, "smoke test failed") || evs[event] != deploy.EventFailed {
			t.Errorf("%s fails: %+v events %v", event, v.Deployment, evs)
		}
		for _, later := range hookEvents[i+1:] {
			if evs[later] != deploy.EventSkipped || e.hooks.count(d.ID, later) != 0 {
				t.Errorf("%s fails: later %s is %s, its hook ran %d times", event, later, evs[later], e.hooks.count(d.ID, later))
			}
		}
		if n := e.hooks.count(d.ID, event); n != 1 {
			t.Errorf("%s's hook ran %d times", event, n)
		}
		e.checkRolledBack(v, blueTasks, "Version: 1.0.0")
	}
}

// TestE2EStopInEachPhase stops a deployment in each of its phases (in
// each hook, during Install, in the ready wait, at 10%, in the bake):
// Stopped, rolled back, green stopped. The ready wait is also approved,
// and left to time out; a second deployment is refused, or queued and
// run after the first.
func TestE2EStopInEachPhase(t *testing.T) {
	t.Parallel()
	e := newE2E(t, canary5m+"  ready: {action: STOP_DEPLOYMENT, wait: 1h}\n")
	ctx := context.Background()
	live := e.succeed("1.0.0")
	blueTasks := e.running(live.GreenTaskSet)
	stop := func(id string) *DeploymentView {
		t.Helper()
		if _, err := e.d.client.Stop(ctx, id, true); err != nil {
			t.Fatal(err)
		}
		v := e.waitDone(id)
		if v.Deployment.Status != deploy.StatusStopped || v.Deployment.Error == nil || v.Deployment.Error.Code != deploy.CodeManualStop {
			t.Errorf("stopped %s: %+v", id, v.Deployment)
		}
		e.checkRolledBack(v, blueTasks, "Version: 1.0.0")
		return v
	}
	for _, event := range awsfmt.HookEvents() {
		d := e.create("2.0.0", "", allHooks(map[string]string{event: "Block"}))
		e.drive(d.ID, func(*DeploymentView) bool { return e.hooks.held(d.ID, event) > 0 })
		v := stop(d.ID)
		if evs := events(v); evs[event] != deploy.EventFailed {
			t.Errorf("stopped in %s: events %v", event, evs)
		}
		e.wait(d.ID, event+"'s call abandoned", func(*DeploymentView) bool { return e.hooks.held(d.ID, event) == 0 })
	}

	// Install: green never gets healthy, so Install waits until stopped.
	d := e.create("2.0.0", "unhealthy", nil)
	e.wait(d.ID, "installing", func(v *DeploymentView) bool {
		return v.Deployment.Step == deploy.EventInstall && len(e.running(v.Deployment.GreenTaskSet)) == 2
	})
	if v := stop(d.ID); events(v)[deploy.EventInstall] != deploy.EventFailed {
		t.Errorf("stopped in Install: events %v", events(v))
	}

	// The ready wait, stopped; then left to time out; then approved.
	d = e.create("2.0.0", "", nil)
	e.wait(d.ID, "ready", func(v *DeploymentView) bool { return v.Deployment.Status == deploy.StatusReady })
	stop(d.ID)
	d = e.create("2.0.0", "", nil)
	v := e.wait(d.ID, "ready", func(v *DeploymentView) bool { return v.Deployment.Status == deploy.StatusReady })
	e.clock.Advance(v.Deployment.WaitUntil.Sub(e.clock.Now()) + time.Millisecond)
	v = e.waitDone(d.ID)
	if v.Deployment.Status != deploy.StatusStopped || v.Deployment.Error == nil || v.Deployment.Error.Code != deploy.CodeTimeout {
		t.Errorf("ready wait timed out: %+v", v.Deployment)
	}
	e.checkRolledBack(v, blueTasks, "Version: 1.0.0")

	// Approved, at 10%, stopped.
	d = e.create("2.0.0", "", nil)
	e.wait(d.ID, "ready", func(v *DeploymentView) bool { return v.Deployment.Status == deploy.StatusReady })
	if e.production() != "Version: 1.0.0" {
		t.Errorf("production moved before approval")
	}
	if _, err := e.d.client.Approve(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	e.wait(d.ID, "at 10%", func(v *DeploymentView) bool { return v.Deployment.GreenPercent == 10 })
	stop(d.ID)

	// In the bake, stopped: blue is still there to take traffic back.
	d = e.create("2.0.0", "", nil)
	e.drive(d.ID, func(v *DeploymentView) bool { return v.Deployment.Status == deploy.StatusBaking })
	if e.production() != "Version: 2.0.0" {
		t.Errorf("production in the bake answers %q", e.production())
	}
	stop(d.ID)

	// One at a time: refused, or queued behind the one in progress.
	first := e.create("2.0.0", "", allHooks(map[string]string{"BeforeInstall": "Block"}))
	e.waitHeld(first.ID, "BeforeInstall")
	_, err := e.d.client.Create(ctx, e.request("3.0.0", "", nil, false))
	if err == nil || !strings.Contains(err.Error(), "already in progress: "+first.ID) {
		t.Errorf("second deployment: %v, want refused", err)
	}
	queued, err := e.d.client.Create(ctx, e.request("3.0.0", "", nil, true))
	if err != nil || queued.Status != deploy.StatusQueued {
		t.Fatalf("queued deployment: %+v, %v", queued, err)
	}
	if _, err := e.d.client.Stop(ctx, first.ID, true); err != nil {
		t.Fatal(err)
	}
	if v := e.waitDone(first.ID); v.Deployment.Status != deploy.StatusStopped || !v.Deployment.RolledBack {
		t.Errorf("first deployment: %+v", v.Deployment)
	}
	if v := e.drive(queued.ID, nil); v.Deployment.Status != deploy.StatusSucceeded || v.Deployment.PreviousRevision != live.Revision {
		t.Errorf("queued deployment: %+v", v.Deployment)
	}
	if got := e.production(); got != "Version: 3.0.0" {
		t.Errorf("after the queued deployment production answers %q", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestE2ECrashInEachHook crashes the daemon while each hook runs. A new
// daemon over the same state cannot know the hook's outcome and must not
// run it again: the event is Unknown, the deployment fails with a message
// that says so, traffic is back on blue and green is stopped.
func TestE2ECrashInEachHook(t *testing.T) {
	t.Parallel()
	e := newE2E(t, canary5m)
	live := e.succeed("1.0.0")
	blueTasks := e.running(live.GreenTaskSet)
	for _, event := range awsfmt.HookEvents() {
		d := e.create("2.0.0", "", allHooks(map[string]string{event: "Block"}))
		e.drive(d.ID, func(*DeploymentView) bool { return e.hooks.held(d.ID, event) > 0 })
		e.crash()
		if got := e.production(); !strings.HasPrefix(got, "Version: ") {
			t.Errorf("crash in %s: the restarted daemon's production listener answered %q", event, got)
		}
		v := e.drive(d.ID, nil)
		evs := events(v)
		if v.Deployment.Status != deploy.StatusFailed || v.Deployment.Error == nil || v.Deployment.Error.Code != deploy.CodeHookFailure ||
			!strings.Contains(v.Deployment.Error.Message, "outcome is unknown") || evs[event] != deploy.EventUnknown {
			t.Errorf("crash in %s: %+v events %v", event, v.Deployment, evs)
		}
		if n := e.hooks.count(d.ID, event); n != 1 {
			t.Errorf("crash in %s: its hook ran %d times, want exactly once", event, n)
		}
		e.checkRolledBack(v, blueTasks, "Version: 1.0.0")
	}
}

// TestE2ECrashAndResume crashes the daemon at each step where a
// deployment waits — Install, the ready wait, 10%, the bake — and just
// after a stop was asked for. The new daemon restores the router from
// the store before it takes traffic, adopts the running tasks (the same
// processes), and finishes or rolls back the deployment without running
// a hook twice.
func TestE2ECrashAndResume(t *testing.T) {
	t.Parallel()
	e := newE2E(t, canary5m+"  ready: {action: STOP_DEPLOYMENT, wait: 1h}\n")
	ctx := context.Background()
	live := e.succeed("1.0.0")
	version := 1
	// crashAt deploys the next version, drives it until at holds, crashes,
	// and checks the new daemon put traffic and tasks back as they were.
	crashAt := func(name, fault string, at func(*DeploymentView) bool) (*DeploymentView, string) {
		t.Helper()
		version++
		d := e.create(itoa(version)+".0.0", fault, allHooks(nil))
		before := e.drive(d.ID, at)
		blue, green := e.running(before.Deployment.BlueTaskSet), e.running(before.Deployment.GreenTaskSet)
		e.crash()
		if got := e.production(); !strings.HasPrefix(got, "Version: ") {
			t.Errorf("%s: the restarted daemon's production listener answered %q: restored targets must serve at once", name, got)
		}
		st, err := e.d.client.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if before.Traffic != nil && st.Traffic.GreenPercent != before.Traffic.GreenPercent {
			t.Errorf("%s: router restored at %v%% green, was %v%%", name, st.Traffic.GreenPercent, before.Traffic.GreenPercent)
		}
		if b, g := e.running(before.Deployment.BlueTaskSet), e.running(before.Deployment.GreenTaskSet); strings.Join(b, " ") != strings.Join(blue, " ") ||
			strings.Join(g, " ") != strings.Join(green, " ") {
			t.Errorf("%s: tasks blue %v green %v before the crash, %v %v after: not adopted", name, blue, green, b, g)
		}
		return before, "Version: " + itoa(version) + ".0.0"
	}
	hooksOnce := func(name string, v *DeploymentView) {
		t.Helper()
		for _, ev := range awsfmt.HookEvents() {
			if n := e.hooks.count(v.Deployment.ID, ev); v.Deployment.Status == deploy.StatusSucceeded && n != 1 || n > 1 {
				t.Errorf("%s: hook %s ran %d times", name, ev, n)
			}
		}
	}
	resumed := func(name string, at func(*DeploymentView) bool) {
		t.Helper()
		before, want := crashAt(name, "", at)
		v := e.drive(before.Deployment.ID, nil)
		hooksOnce(name, v)
		if v.Deployment.Status != deploy.StatusSucceeded || e.settled(want) != want || len(e.running(v.Deployment.BlueTaskSet)) != 0 {
			t.Errorf("%s: resumed deployment %+v; production %q; blue runs %v", name, v.Deployment, e.production(), e.running(v.Deployment.BlueTaskSet))
		}
		live = &v.Deployment
	}
	resumed("ready wait", func(v *DeploymentView) bool { return v.Deployment.Status == deploy.StatusReady })
	resumed("at 10%", func(v *DeploymentView) bool {
		return v.Deployment.GreenPercent == 10 && v.Traffic != nil && v.Traffic.GreenPercent == 10
	})
	resumed("bake", func(v *DeploymentView) bool {
		return v.Deployment.Status == deploy.StatusBaking && v.Traffic != nil && v.Traffic.GreenPercent == 100
	})

	// Install of a green that never gets healthy: after the crash the
	// same tasks are waited on until the install timeout fails it.
	blueTasks := e.running(live.GreenTaskSet)
	before, _ := crashAt("install", "unhealthy", func(v *DeploymentView) bool {
		return v.Deployment.Step == deploy.EventInstall && len(e.running(v.Deployment.GreenTaskSet)) == 2
	})
	e.clock.Advance(before.Deployment.WaitUntil.Sub(e.clock.Now()) + time.Millisecond)
	v := e.waitDone(before.Deployment.ID)
	if v.Deployment.Status != deploy.StatusFailed || v.Deployment.Error == nil || v.Deployment.Error.Code != deploy.CodeHealth {
		t.Errorf("install: %+v", v.Deployment)
	}
	hooksOnce("install", v)
	e.checkRolledBack(v, blueTasks, "Version: "+itoa(version-1)+".0.0")

	// A stop asked for at 10%, then a crash before or after the
	// controller acted on it: either way it ends Stopped and rolled back.
	version++
	d := e.create(itoa(version)+".0.0", "", allHooks(nil))
	e.drive(d.ID, func(v *DeploymentView) bool { return v.Deployment.GreenPercent == 10 })
	if _, err := e.d.client.Stop(ctx, d.ID, true); err != nil {
		t.Fatal(err)
	}
	e.crash()
	v = e.waitDone(d.ID)
	if v.Deployment.Status != deploy.StatusStopped || v.Deployment.Error == nil || v.Deployment.Error.Code != deploy.CodeManualStop {
		t.Errorf("stop then crash: %+v", v.Deployment)
	}
	hooksOnce("stop", v)
	e.checkRolledBack(v, blueTasks, "Version: "+itoa(version-2)+".0.0")
}

// TestE2EFirstDeploymentRolledBack stops the very first deployment at
// 10%: with no blue to go back to, the rollback still ends (Stopped),
// green's tasks stop, and both listeners answer 503 with nothing bound.
func TestE2EFirstDeploymentRolledBack(t *testing.T) {
	t.Parallel()
	e := newE2E(t, canary5m)
	d := e.create("1.0.0", "", nil)
	e.drive(d.ID, func(v *DeploymentView) bool { return v.Deployment.GreenPercent == 10 })
	if _, err := e.d.client.Stop(context.Background(), d.ID, true); err != nil {
		t.Fatal(err)
	}
	v := e.waitDone(d.ID)
	if v.Deployment.Status != deploy.StatusStopped || !v.Deployment.RolledBack {
		t.Fatalf("first deployment stopped at 10%%: %+v", v.Deployment)
	}
	if n := len(e.running(v.Deployment.GreenTaskSet)); n != 0 {
		t.Errorf("%d green tasks still run", n)
	}
	for _, addr := range []string{e.d.prod, fmt.Sprintf("127.0.0.1:%d", e.cfg.Service.Listeners.TestPort)} {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s answers %d with nothing deployed; want 503", addr, resp.StatusCode)
		}
	}
}
