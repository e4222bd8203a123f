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
