package deploy

import (
	"strings"
	"testing"
	"time"
)

func TestEvaluate(t *testing.T) {
	ok := Sample{Requests: 100, Errors: 1, P99: 50 * time.Millisecond}
	bad := Sample{Requests: 100, Errors: 30}
	quiet := Sample{Requests: 3}
	slow := Sample{Requests: 100, P99: 2 * time.Second}
	sick := Sample{Unhealthy: 1}
	def := AlarmPolicy{}
	for _, tc := range []struct {
		name     string
		p        AlarmPolicy
		samples  []Sample
		state    string
		breached string
	}{
		{"no samples", def, nil, AlarmInsufficientData, ""},
		{"healthy", def, []Sample{ok, ok, ok}, AlarmOK, ""},
		{"one bad of three is not enough", def, []Sample{ok, bad, ok}, AlarmOK, ""},
		{"two bad of three", def, []Sample{bad, ok, bad}, AlarmActive, "error_rate"},
		{"old breaches age out", def, []Sample{bad, bad, ok, ok, ok}, AlarmOK, ""},
		{"one datapoint alarms", AlarmPolicy{DatapointsToAlarm: 1}, []Sample{ok, bad}, AlarmActive, "error_rate"},
		{"silence is not health", def, []Sample{quiet, quiet, quiet}, AlarmInsufficientData, ""},
		{"silence breaches when told", AlarmPolicy{MissingIsBreaching: true}, []Sample{quiet, quiet}, AlarmActive, "missing_data"},
		{"some data is judged", def, []Sample{quiet, ok, quiet}, AlarmOK, ""},
		{"latency off by default", def, []Sample{slow, slow}, AlarmOK, ""},
		{"latency", AlarmPolicy{P99Latency: time.Second}, []Sample{slow, slow}, AlarmActive, "p99_latency"},
		{"unhealthy without traffic", def, []Sample{sick, sick}, AlarmActive, "unhealthy_targets"},
		{"threshold is inclusive", AlarmPolicy{ErrorRatePercent: 30, DatapointsToAlarm: 1}, []Sample{bad}, AlarmActive, "error_rate"},
		{"disabled", AlarmPolicy{Disabled: true}, []Sample{bad, bad, bad}, AlarmOK, ""},
		{"too few errors to judge", AlarmPolicy{DatapointsToAlarm: 1}, []Sample{{Requests: 12, Errors: 2}}, AlarmOK, ""},
		{"min errors reached", AlarmPolicy{DatapointsToAlarm: 1}, []Sample{{Requests: 12, Errors: 3}}, AlarmActive, "error_rate"},
		{"min errors of one", AlarmPolicy{DatapointsToAlarm: 1, MinErrors: 1}, []Sample{{Requests: 12, Errors: 1}}, AlarmActive, "error_rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Evaluate(tc.p, tc.samples)
			if v.State != tc.state || v.Breached != tc.breached {
				t.Errorf("Evaluate = %+v, want %s %s", v, tc.state, tc.breached)
			}
			if v.State == AlarmInsufficientData && !strings.Contains(v.Reason, "no traffic") {
				t.Errorf("reason %q does not say no traffic was seen", v.Reason)
			}
		})
	}
}

// TestBenchmarkDefaultsDoNotFlap checks the documented benchmark setting
// (250ms periods, 1% background errors at 10% of 1000 rps = 25 requests a
// period) against the worst datapoints such noise gives.
func TestBenchmarkDefaultsDoNotFlap(t *testing.T) {
	p := AlarmPolicy{Period: 250 * time.Millisecond}
	noisy := Sample{Requests: 25, Errors: 1} // 4%: under 5%
	if v := Evaluate(p, []Sample{noisy, noisy, noisy}); v.State != AlarmOK {
		t.Errorf("1 error in 25 alarms: %+v", v)
	}
	twice := Sample{Requests: 25, Errors: 2} // 8%, but 2 errors are under MinErrors
	if v := Evaluate(p, []Sample{twice, twice, twice}); v.State != AlarmOK {
		t.Errorf("unlucky periods alarm: %+v", v)
	}
	thrice := Sample{Requests: 25, Errors: 3} // P ≈ 0.2% a period at 1%; needs 2 of 3
	if v := Evaluate(p, []Sample{thrice, noisy, noisy}); v.State != AlarmOK {
		t.Errorf("one unlucky period alarms: %+v", v)
	}
	fault := Sample{Requests: 25, Errors: 25}
	if v := Evaluate(p, []Sample{noisy, fault, fault}); v.State != AlarmActive {
		t.Errorf("a full fault does not alarm in two periods: %+v", v)
	}
}

func TestSampleBetween(t *testing.T) {
	b := func(counts ...uint64) []LatencyBucket {
		bounds := []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, time.Second, 0}
		var out []LatencyBucket
		for i, c := range counts {
			out = append(out, LatencyBucket{UpperBound: bounds[i], Count: c})
		}
		return out
	}
	prev := Metrics{Requests: 100, Errors: 5, Latency: b(90, 100, 100, 100)}
	cur := Metrics{Requests: 300, Errors: 25, Latency: b(150, 200, 299, 300), Unhealthy: 1}
	s := sampleBetween(prev, cur)
	if s.Requests != 200 || s.Errors != 20 || s.Unhealthy != 1 || s.P99 != time.Second {
		t.Errorf("sample = %+v", s)
	}
	// Counters that went backwards (router restart) count from zero.
	s = sampleBetween(cur, Metrics{Requests: 10, Errors: 1})
	if s.Requests != 10 || s.Errors != 1 {
		t.Errorf("after reset = %+v", s)
	}
	if s := sampleBetween(Metrics{}, Metrics{Requests: 10, Latency: b(0, 0, 0, 10)}); s.P99 <= time.Second {
		t.Errorf("p99 beyond the last bucket = %s", s.P99)
	}
}
