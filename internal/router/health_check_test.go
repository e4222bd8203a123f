package router

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseSuccessCodes(t *testing.T) {
	tests := []struct {
		in   string
		ok   []int
		fail []int
		err  bool
	}{
		{in: "200", ok: []int{200}, fail: []int{201, 199, 500}},
		{in: "200,204", ok: []int{200, 204}, fail: []int{201}},
		{in: "200-299", ok: []int{200, 250, 299}, fail: []int{300, 199}},
		{in: "200-204, 302", ok: []int{204, 302}, fail: []int{205, 301}},
		{in: "", err: true},
		{in: "20", err: true},
		{in: "2000", err: true},
		{in: "abc", err: true},
		{in: "299-200", err: true},
		{in: "200-", err: true},
		{in: "600", err: true},
		{in: "099", err: true},
		{in: "200,,204", err: true},
		{in: "200-300-400", err: true},
		{in: "+20", err: true},
	}
	for _, tt := range tests {
		got, err := parseSuccessCodes(tt.in)
		if tt.err {
			if err == nil {
				t.Errorf("parseSuccessCodes(%q) = %v; want error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseSuccessCodes(%q): %v", tt.in, err)
			continue
		}
		for _, c := range tt.ok {
			if !codeMatches(got, c) {
				t.Errorf("%q should match %d", tt.in, c)
			}
		}
		for _, c := range tt.fail {
			if codeMatches(got, c) {
				t.Errorf("%q should not match %d", tt.in, c)
			}
		}
	}
}

func FuzzParseSuccessCodes(f *testing.F) {
	for _, s := range []string{"200", "200-299", "200,302", "1-2", "599-100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ranges, err := parseSuccessCodes(s)
		if err != nil {
			return
		}
		for _, r := range ranges {
			if r.lo < 100 || r.hi > 599 || r.lo > r.hi {
				t.Fatalf("%q parsed to bad range %+v", s, r)
			}
		}
	})
}

func TestHealthTracker(t *testing.T) {
	const H, U = true, false
	tests := []struct {
		name    string
		results []bool
		want    []TargetState
	}{
		{"first pass makes a new target healthy", []bool{H}, []TargetState{StateHealthy}},
		{"new target fails to unhealthy", []bool{U, U}, []TargetState{StateInitial, StateUnhealthy}},
		{"flapping healthy target stays healthy", []bool{H, U, H, U, H, U, H},
			[]TargetState{StateHealthy, StateHealthy, StateHealthy, StateHealthy, StateHealthy, StateHealthy, StateHealthy}},
		{"two failures in a row", []bool{H, U, U}, []TargetState{StateHealthy, StateHealthy, StateUnhealthy}},
		{"flapping unhealthy target stays unhealthy", []bool{U, U, H, U, H, H, U, H, H, H},
			[]TargetState{StateInitial, StateUnhealthy, StateUnhealthy, StateUnhealthy, StateUnhealthy, StateUnhealthy,
				StateUnhealthy, StateUnhealthy, StateUnhealthy, StateHealthy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := healthTracker{healthyThreshold: 3, unhealthyThreshold: 2}
			st := StateInitial
			for i, ok := range tt.results {
				st = tr.observe(st, ok)
				if st != tt.want[i] {
					t.Fatalf("after result %d (%v): state %s, want %s", i, ok, st, tt.want[i])
				}
			}
		})
	}
}

// TestHealthTrackerAfterPassiveDown: a target passive health took out
// between two checks needs the full healthy threshold of passes from then,
// however many it passed before.
func TestHealthTrackerAfterPassiveDown(t *testing.T) {
	tr := healthTracker{healthyThreshold: 3, unhealthyThreshold: 2}
	st := StateInitial
	for range 5 {
		st = tr.observe(st, true)
	}
	st = StateUnhealthy // taken out for refusing a connection
	for i, want := range []TargetState{StateUnhealthy, StateUnhealthy, StateHealthy} {
		if st = tr.observe(st, true); st != want {
			t.Fatalf("pass %d after the passive mark: %s, want %s", i+1, st, want)
		}
	}
}

// TestHealthChecksFlappingTarget drives real health checks against a real
// upstream on a fake clock: traffic stops only after the unhealthy threshold
// and resumes only after the healthy threshold; flapping changes nothing.
func TestHealthChecksFlappingTarget(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	b := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			if !healthy.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
			return
		}
		_, _ = w.Write([]byte("blue"))
	})
	fc := newFakeClock()
	const interval = 10 * time.Second
	rt, srv := newTestRouter(t, Options{
		Blue:        []string{b.URL},
		Clock:       fc,
		HealthCheck: HealthCheck{Path: "/healthz", Interval: interval, Timeout: 5 * time.Second, HealthyThreshold: 3, UnhealthyThreshold: 2},
	})
	fc.waitWaiters(t, 1) // the first check ran at registration
	state := func() TargetState { return rt.Snapshot().Blue.Targets[0].State }
	if s := state(); s != StateHealthy {
		t.Fatalf("after first passing check: %s", s)
	}
	steps := []struct {
		pass bool
		want TargetState
	}{
		{false, StateHealthy}, {true, StateHealthy}, {false, StateHealthy}, {true, StateHealthy},
		{false, StateHealthy}, {false, StateUnhealthy},
		{true, StateUnhealthy}, {false, StateUnhealthy}, {true, StateUnhealthy}, {true, StateUnhealthy},
		{true, StateHealthy},
	}
	for i, st := range steps {
		healthy.Store(st.pass)
		fc.Advance(interval)
		fc.waitWaiters(t, 1)
		if s := state(); s != st.want {
			t.Fatalf("step %d (pass=%v): state %s, want %s", i, st.pass, s, st.want)
		}
		code, _, body := get(t, srv.Client(), srv.URL+"/")
		wantCode := http.StatusOK
		if st.want != StateHealthy {
			wantCode = http.StatusServiceUnavailable
		}
		if code != wantCode {
			t.Fatalf("step %d: GET = %d %q, want %d", i, code, body, wantCode)
		}
	}
	if m := rt.Metrics(); m.Unavailable != 5 {
		t.Errorf("unavailable = %d, want 5", m.Unavailable)
	}
}

// nextWake returns how long until the earliest waiter on c fires.
func (c *fakeClock) nextWake(t *testing.T) time.Duration {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiters) == 0 {
		t.Fatal("nothing waits on the clock")
	}
	next := c.waiters[0].at
	for _, w := range c.waiters[1:] {
		if w.at.Before(next) {
			next = w.at
		}
	}
	return next.Sub(c.now)
}

// startingUpstream is a real upstream whose /healthz fails until ready is
// set, counting the checks it answers.
func startingUpstream(t *testing.T) (url string, ready *atomic.Bool, checks *atomic.Int32) {
	t.Helper()
	ready, checks = new(atomic.Bool), new(atomic.Int32)
	b := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			checks.Add(1)
			if !ready.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		_, _ = w.Write([]byte("green"))
	})
	return b.URL, ready, checks
}

// TestHealthChecksStartFast: a new target is checked at registration and
// then every 250ms until it first passes, and from then on every
// health_check.interval; it serves from the check that passed.
func TestHealthChecksStartFast(t *testing.T) {
	url, ready, checks := startingUpstream(t)
	fc := newFakeClock()
	const interval = 5 * time.Second
	rt, srv := newTestRouter(t, Options{
		Blue:        []string{url},
		Clock:       fc,
		HealthCheck: HealthCheck{Path: "/healthz", Interval: interval, Timeout: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 2},
	})
	state := func() TargetState { return rt.Snapshot().Blue.Targets[0].State }
	fc.waitWaiters(t, 1) // the check at registration failed
	for i := 1; i <= 4; i++ {
		if n := checks.Load(); n != int32(i) {
			t.Fatalf("%s after registration: %d checks, want %d", time.Duration(i-1)*startupInterval, n, i)
		}
		if s := state(); s != StateInitial {
			t.Fatalf("after %d failed checks in %s: %s, want initial", i, time.Duration(i-1)*startupInterval, s)
		}
		if d := fc.nextWake(t); d != startupInterval {
			t.Fatalf("a starting target's next check in %s, want %s", d, startupInterval)
		}
		if code, _, _ := get(t, srv.Client(), srv.URL+"/"); code != http.StatusServiceUnavailable {
			t.Fatalf("GET before the first pass = %d, want 503", code)
		}
		if i == 4 {
			ready.Store(true)
		}
		fc.Advance(startupInterval)
		fc.waitWaiters(t, 1)
	}
	if s := state(); s != StateHealthy {
		t.Fatalf("after its first pass, 1s after registration: %s, want healthy", s)
	}
	if code, _, body := get(t, srv.Client(), srv.URL+"/"); code != http.StatusOK || body != "green" {
		t.Fatalf("GET after the first pass = %d %q, want 200 green", code, body)
	}
	for range 3 {
		if d := fc.nextWake(t); d != interval {
			t.Fatalf("a healthy target's next check in %s, want the interval %s", d, interval)
		}
		before := checks.Load()
		fc.Advance(interval)
		fc.waitWaiters(t, 1)
		if n := checks.Load(); n != before+1 {
			t.Fatalf("one interval later: %d checks, want %d", n, before+1)
		}
	}
	// A healthy target that fails goes back to neither the fast checks nor
	// a quicker verdict: two failures, an interval apart.
	ready.Store(false)
	for i, want := range []TargetState{StateHealthy, StateUnhealthy} {
		fc.Advance(interval)
		fc.waitWaiters(t, 1)
		if s := state(); s != want {
			t.Fatalf("failure %d: %s, want %s", i+1, s, want)
		}
		if d := fc.nextWake(t); d != interval {
			t.Fatalf("after failure %d the next check in %s, want %s", i+1, d, interval)
		}
	}
}

// TestHealthChecksSlowStarter: a target that is slow to start is checked
// every 250ms, but its failures count once per interval, so it is marked
// unhealthy at the same time as with checks every interval; while it has
// never passed it stays on the fast checks, and the healthy threshold
// still needs consecutive passes.
func TestHealthChecksSlowStarter(t *testing.T) {
	url, ready, checks := startingUpstream(t)
	fc := newFakeClock()
	const interval = time.Second // four fast checks an interval
	rt, _ := newTestRouter(t, Options{
		Blue:        []string{url},
		Clock:       fc,
		HealthCheck: HealthCheck{Path: "/healthz", Interval: interval, Timeout: 500 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 2},
	})
	state := func() TargetState { return rt.Snapshot().Blue.Targets[0].State }
	fc.waitWaiters(t, 1)
	steps := []struct {
		pass bool
		want TargetState
	}{
		// 250ms, 500ms, 750ms: failures that do not count yet.
		{false, StateInitial}, {false, StateInitial}, {false, StateInitial},
		// 1s: the second failure an interval after the first.
		{false, StateUnhealthy},
		// Passes broken by a failure are no run.
		{true, StateUnhealthy}, {false, StateUnhealthy}, {true, StateUnhealthy},
		// Two in a row, 250ms apart.
		{true, StateHealthy},
	}
	for i, st := range steps {
		ready.Store(st.pass)
		fc.Advance(startupInterval)
		fc.waitWaiters(t, 1)
		if s := state(); s != st.want {
			t.Fatalf("check %d, %s after registration (pass=%v): %s, want %s",
				i+2, time.Duration(i+1)*startupInterval, st.pass, s, st.want)
		}
		wantNext := startupInterval
		if st.want == StateHealthy {
			wantNext = interval
		}
		if d := fc.nextWake(t); d != wantNext {
			t.Fatalf("after check %d the next in %s, want %s", i+2, d, wantNext)
		}
	}
	if n := checks.Load(); n != int32(len(steps)+1) {
		t.Errorf("%d checks, want %d", n, len(steps)+1)
	}
}

// TestHealthChecksShortInterval: an interval shorter than 250ms is used
// from the start.
func TestHealthChecksShortInterval(t *testing.T) {
	url, _, _ := startingUpstream(t)
	fc := newFakeClock()
	const interval = 100 * time.Millisecond
	newTestRouter(t, Options{
		Blue:        []string{url},
		Clock:       fc,
		HealthCheck: HealthCheck{Path: "/healthz", Interval: interval, Timeout: 50 * time.Millisecond},
	})
	fc.waitWaiters(t, 1)
	if d := fc.nextWake(t); d != interval {
		t.Fatalf("next check in %s, want %s", d, interval)
	}
}
