package router

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// targetState returns the state of the target with url in group g.
func targetState(t *testing.T, rt *Router, g Group, url string) TargetState {
	t.Helper()
	snap := rt.Snapshot()
	list := snap.Blue.Targets
	if g == Green {
		list = snap.Green.Targets
	}
	for _, ts := range list {
		if ts.URL == url {
			return ts.State
		}
	}
	t.Fatalf("%s target %s not registered", g, url)
	return StateInitial
}

// TestKilledTargetIsTakenOutAtOnce: blue and green at 50/50, active health
// checks on a clock that does not move. Green dies: the first request sent
// to it finds its connections refused, takes it out at once and is
// retried on blue, so not one of the requests after its death fails. When
// green is back, the active checks (healthy threshold 2) return it.
func TestKilledTargetIsTakenOutAtOnce(t *testing.T) {
	blue := newBackend(t, "blue", nil)
	green := newBackend(t, "green", nil)
	fc := newFakeClock()
	const interval = 10 * time.Second
	rt, srv := newTestRouter(t, Options{
		Blue: []string{blue.URL}, Green: []string{green.URL}, GreenWeight: 500, Clock: fc,
		HealthCheck: HealthCheck{Path: "/healthz", Interval: interval, Timeout: 5 * time.Second, HealthyThreshold: 2},
	})
	fc.waitWaiters(t, 2) // both passed their first check
	client := srv.Client()
	for i := range 4 {
		if code, _, _ := get(t, client, srv.URL+"/"); code != http.StatusOK {
			t.Fatalf("GET %d before the kill: %d", i, code)
		}
	}
	if green.hits.Load() == 0 {
		t.Fatal("green took no request at 50/50")
	}

	green.Close() // its listener and connections: new ones are refused
	const n = 50
	for i := range n {
		if code, who, body := get(t, client, srv.URL+"/"); code != http.StatusOK || who != "blue" {
			t.Fatalf("GET %d after green died: %d from %q: %s", i, code, who, body)
		}
	}
	if st := targetState(t, rt, Green, green.URL); st != StateUnhealthy {
		t.Fatalf("dead green is %s, want unhealthy", st)
	}
	if snap := rt.Snapshot(); !strings.Contains(snap.Green.Targets[0].LastCheck, "refused") {
		t.Errorf("dead green's last check %q does not say why", snap.Green.Targets[0].LastCheck)
	}

	// Green comes back on its address; two passing checks return it.
	ln, err := net.Listen("tcp", green.Listener.Addr().String())
	if err != nil {
		t.Skipf("green's port was taken meanwhile: %v", err)
	}
	back := &http.Server{Handler: green.Config.Handler}
	go func() { _ = back.Serve(ln) }()
	t.Cleanup(func() { _ = back.Close() })
	for i, want := range []TargetState{StateUnhealthy, StateHealthy} {
		fc.Advance(interval)
		fc.waitWaiters(t, 2)
		if st := targetState(t, rt, Green, green.URL); st != want {
			t.Fatalf("green after %d passing checks: %s, want %s", i+1, st, want)
		}
	}
	before := green.hits.Load()
	for range 4 {
		get(t, client, srv.URL+"/")
	}
	if green.hits.Load() == before {
		t.Fatal("green back but given no request")
	}
}

// TestRefusedTargetWithoutHealthChecks: with no active checks to bring it
// back, a target taken out for refusing connections returns on its own
// after passiveRecovery. The last target able to serve is never taken out.
func TestRefusedTargetWithoutHealthChecks(t *testing.T) {
	blue := newBackend(t, "blue", nil)
	dead := refusedURL(t)
	fc := newFakeClock()
	rt, srv := newTestRouter(t, Options{Blue: []string{blue.URL}, Green: []string{dead}, GreenWeight: 500, Clock: fc})
	for i := range 10 {
		if code, who, _ := get(t, srv.Client(), srv.URL+"/"); code != http.StatusOK || who != "blue" {
			t.Fatalf("GET %d: %d from %q", i, code, who)
		}
	}
	if st := targetState(t, rt, Green, dead); st != StateUnhealthy {
		t.Fatalf("refusing green is %s, want unhealthy", st)
	}
	fc.waitWaiters(t, 1)
	fc.Advance(passiveRecovery)
	waitFor(t, "green to return", func() bool { return targetState(t, rt, Green, dead) == StateHealthy })

	// The last target able to serve is kept in: taking it out would only
	// turn its 502s into 503s.
	only := refusedURL(t)
	rt, srv = newTestRouter(t, Options{Blue: []string{only}, Clock: fc})
	for i := range 3 {
		if code, _, _ := get(t, srv.Client(), srv.URL+"/"); code != http.StatusBadGateway {
			t.Fatalf("GET %d with the only target refusing: %d, want 502", i, code)
		}
	}
	if st := targetState(t, rt, Blue, only); st != StateHealthy {
		t.Fatalf("the only target is %s; want it kept healthy", st)
	}
}
