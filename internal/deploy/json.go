package deploy

import (
	"encoding/json"
	"time"

	"github.com/canaryflow/canaryflow/internal/durjson"
)

// The types below hold durations. In JSON (the API, -o json and the store)
// each duration is "5m0s" with a …Seconds number beside it (package
// durjson); reading also takes the nanosecond numbers stored before.

// MarshalJSON writes Timeout as "30s" and timeoutSeconds.
func (h Hook) MarshalJSON() ([]byte, error) {
	type plain Hook
	return json.Marshal(struct {
		plain
		Timeout        durjson.Duration `json:"timeout"`
		TimeoutSeconds float64          `json:"timeoutSeconds"`
	}{plain(h), durjson.Duration(h.Timeout), h.Timeout.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes, and the older form.
func (h *Hook) UnmarshalJSON(data []byte) error {
	type plain Hook
	v := struct {
		*plain
		Timeout durjson.Duration `json:"timeout"`
	}{plain: (*plain)(h)}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	h.Timeout = time.Duration(v.Timeout)
	return nil
}

// MarshalJSON writes Period and P99Latency as durations with seconds.
func (p AlarmPolicy) MarshalJSON() ([]byte, error) {
	type plain AlarmPolicy
	return json.Marshal(struct {
		plain
		Period            durjson.Duration `json:"period"`
		PeriodSeconds     float64          `json:"periodSeconds"`
		P99Latency        durjson.Duration `json:"p99Latency"`
		P99LatencySeconds float64          `json:"p99LatencySeconds"`
	}{plain(p), durjson.Duration(p.Period), p.Period.Seconds(), durjson.Duration(p.P99Latency), p.P99Latency.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes, and the older form.
func (p *AlarmPolicy) UnmarshalJSON(data []byte) error {
	type plain AlarmPolicy
	v := struct {
		*plain
		Period     durjson.Duration `json:"period"`
		P99Latency durjson.Duration `json:"p99Latency"`
	}{plain: (*plain)(p)}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	p.Period, p.P99Latency = time.Duration(v.Period), time.Duration(v.P99Latency)
	return nil
}

// MarshalJSON writes the waits and timeouts as durations with seconds.
func (s Settings) MarshalJSON() ([]byte, error) {
	type plain Settings
	return json.Marshal(struct {
		plain
		ReadyWait              durjson.Duration `json:"readyWait"`
		ReadyWaitSeconds       float64          `json:"readyWaitSeconds"`
		TerminationWait        durjson.Duration `json:"terminationWait"`
		TerminationWaitSeconds float64          `json:"terminationWaitSeconds"`
		InstallTimeout         durjson.Duration `json:"installTimeout"`
		InstallTimeoutSeconds  float64          `json:"installTimeoutSeconds"`
		StopGrace              durjson.Duration `json:"stopGrace"`
		StopGraceSeconds       float64          `json:"stopGraceSeconds"`
		AutoRollback           []string         `json:"autoRollback"`
	}{plain(s),
		durjson.Duration(s.ReadyWait), s.ReadyWait.Seconds(),
		durjson.Duration(s.TerminationWait), s.TerminationWait.Seconds(),
		durjson.Duration(s.InstallTimeout), s.InstallTimeout.Seconds(),
		durjson.Duration(s.StopGrace), s.StopGrace.Seconds(),
		nonNil(s.AutoRollback)})
}

// UnmarshalJSON reads what MarshalJSON writes, and the older form.
func (s *Settings) UnmarshalJSON(data []byte) error {
	type plain Settings
	v := struct {
		*plain
		ReadyWait       durjson.Duration `json:"readyWait"`
		TerminationWait durjson.Duration `json:"terminationWait"`
		InstallTimeout  durjson.Duration `json:"installTimeout"`
		StopGrace       durjson.Duration `json:"stopGrace"`
	}{plain: (*plain)(s)}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	s.ReadyWait, s.TerminationWait = time.Duration(v.ReadyWait), time.Duration(v.TerminationWait)
	s.InstallTimeout, s.StopGrace = time.Duration(v.InstallTimeout), time.Duration(v.StopGrace)
	return nil
}

// nonNil makes a nil list [] in JSON.
func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
