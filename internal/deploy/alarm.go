package deploy

import (
	"fmt"
	"time"
)

// Alarm states, by CloudWatch's names.
const (
	AlarmOK               = "OK"
	AlarmActive           = "ALARM"
	AlarmInsufficientData = "INSUFFICIENT_DATA"
)

// AlarmPolicy is the alarm configuration of a deployment. Each Period
// gives one datapoint; the last EvaluationPeriods are judged and
// DatapointsToAlarm breaching ones raise the alarm. Zero fields take the
// defaults their comments name.
type AlarmPolicy struct {
	Disabled          bool          `json:"disabled"`
	Period            time.Duration `json:"period"`            // zero: 10s
	EvaluationPeriods int           `json:"evaluationPeriods"` // zero: 3
	DatapointsToAlarm int           `json:"datapointsToAlarm"` // zero: 2
	ErrorRatePercent  float64       `json:"errorRatePercent"`  // zero: 5
	P99Latency        time.Duration `json:"p99Latency"`        // zero: no latency alarm
	UnhealthyTargets  int           `json:"unhealthyTargets"`  // zero: 1
	// MinRequests is the fewest requests in a period that make a datapoint
	// for the error and latency alarms; fewer is missing data, which
	// never counts as healthy. Zero: 10.
	MinRequests int `json:"minRequests"`
	// MinErrors is the fewest failed requests in a period that can breach
	// the error-rate alarm, so a single unlucky error in a small sample
	// (1 of 12 is 8%) does not roll back a healthy canary. Zero: 3.
	MinErrors int `json:"minErrors"`
	// MissingIsBreaching makes missing data a breach (CloudWatch's
	// treatMissingData: breaching). False treats it as missing: neither
	// breach nor health, reported as INSUFFICIENT_DATA.
	MissingIsBreaching bool `json:"missingIsBreaching"`
}

func (p *AlarmPolicy) applyDefaults() {
	if p.Period == 0 {
		p.Period = 10 * time.Second
	}
	if p.EvaluationPeriods == 0 {
		p.EvaluationPeriods = 3
	}
	if p.DatapointsToAlarm == 0 {
		p.DatapointsToAlarm = min(2, p.EvaluationPeriods)
	}
	if p.ErrorRatePercent == 0 {
		p.ErrorRatePercent = 5
	}
	if p.UnhealthyTargets == 0 {
		p.UnhealthyTargets = 1
	}
	if p.MinRequests == 0 {
		p.MinRequests = 10
	}
	if p.MinErrors == 0 {
		p.MinErrors = 3
	}
}

// Sample is one period of green's metrics.
type Sample struct {
	Requests  uint64
	Errors    uint64 // 5xx responses, and requests the router could not forward
	P99       time.Duration
	Unhealthy int // green targets failing their health check at the period's end
}

// Verdict is the judgement of a run of samples.
type Verdict struct {
	State    string // AlarmOK, AlarmActive or AlarmInsufficientData
	Breached string // which alarm: error_rate, p99_latency, unhealthy_targets or missing_data
	Reason   string
}

// Evaluate judges the latest samples (oldest first) against the policy.
// It is a pure function: the controller feeds it and acts on the result.
// A period with fewer than MinRequests requests says nothing about the
// error rate or latency, so a green that served no traffic is never OK by
// silence: it is INSUFFICIENT_DATA (or ALARM if missing data breaches).
func Evaluate(p AlarmPolicy, samples []Sample) Verdict {
	p.applyDefaults()
	if p.Disabled {
		return Verdict{State: AlarmOK, Reason: "alarms disabled"}
	}
	if len(samples) > p.EvaluationPeriods {
		samples = samples[len(samples)-p.EvaluationPeriods:]
	}
	breaches, missing := 0, 0
	var last Verdict
	for _, s := range samples {
		breach, why, what := judge(p, s)
		if what == "missing" {
			missing++
			if !p.MissingIsBreaching {
				continue
			}
			breach, what = true, "missing_data"
		}
		if breach {
			breaches++
			last = Verdict{State: AlarmActive, Breached: what, Reason: why}
		}
	}
	switch {
	case breaches >= p.DatapointsToAlarm:
		last.Reason = fmt.Sprintf("%s (%d of the last %d periods of %s breached)", last.Reason, breaches, len(samples), p.Period)
		return last
	case len(samples) == 0 || missing == len(samples):
		return Verdict{State: AlarmInsufficientData, Reason: fmt.Sprintf(
			"no traffic seen on green: fewer than %d requests in each of the last %d periods", p.MinRequests, len(samples))}
	}
	return Verdict{State: AlarmOK}
}

// judge looks at one datapoint: breach with reason and alarm name, or
// what == "missing" when it holds too few requests to judge.
func judge(p AlarmPolicy, s Sample) (breach bool, why, what string) {
	if s.Unhealthy >= p.UnhealthyTargets {
		return true, fmt.Sprintf("%d green targets unhealthy (threshold %d)", s.Unhealthy, p.UnhealthyTargets), "unhealthy_targets"
	}
	if s.Requests < uint64(p.MinRequests) {
		return false, "", "missing"
	}
	rate := float64(s.Errors) * 100 / float64(s.Requests)
	if rate >= p.ErrorRatePercent && s.Errors >= uint64(p.MinErrors) {
		return true, fmt.Sprintf("error rate %.1f%% (%d of %d) at or over %.1f%%", rate, s.Errors, s.Requests, p.ErrorRatePercent), "error_rate"
	}
	if p.P99Latency > 0 && s.P99 > p.P99Latency {
		return true, fmt.Sprintf("p99 latency %s over %s", s.P99, p.P99Latency), "p99_latency"
	}
	return false, "", ""
}

// evaluationOf is the evaluation of one period's sample s against p, as the
// page and /metrics show it.
func evaluationOf(p AlarmPolicy, s Sample, at time.Time) *Evaluation {
	p.applyDefaults()
	e := &Evaluation{At: at, Requests: s.Requests, Errors: s.Errors, ErrorRateThreshold: p.ErrorRatePercent,
		P99Seconds: s.P99.Seconds(), P99Threshold: p.P99Latency.Seconds(), Unhealthy: s.Unhealthy,
		UnhealthyThreshold: p.UnhealthyTargets}
	if s.Requests > 0 {
		e.ErrorRatePercent = float64(s.Errors) * 100 / float64(s.Requests)
	}
	breach, _, what := judge(p, s)
	if what == "missing" {
		e.Missing = true
		if p.MissingIsBreaching {
			e.Breached = "missing_data"
		}
	} else if breach {
		e.Breached = what
	}
	return e
}
