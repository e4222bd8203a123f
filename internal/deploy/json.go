package deploy

import (
	"time"

	"github.com/canaryflow/canaryflow/internal/durjson"
)

// The types below hold durations. In JSON (the API, -o json and the store)
// each duration is "5m0s" with a …Seconds number beside it (package
// durjson); reading also takes the nanosecond numbers stored before.

// MarshalJSON writes Timeout as "30s" and timeoutSeconds.
func (h Hook) MarshalJSON() ([]byte, error) {
	type plain Hook
	return durjson.Marshal(plain(h), map[string]time.Duration{"timeout": h.Timeout})
}

// UnmarshalJSON reads what MarshalJSON writes, and the older form.
func (h *Hook) UnmarshalJSON(data []byte) error {
	type plain Hook
	return durjson.Unmarshal(data, (*plain)(h), map[string]*time.Duration{"timeout": &h.Timeout})
}

// MarshalJSON writes Period and P99Latency as durations with seconds.
func (p AlarmPolicy) MarshalJSON() ([]byte, error) {
	type plain AlarmPolicy
	return durjson.Marshal(plain(p), map[string]time.Duration{"period": p.Period, "p99Latency": p.P99Latency})
}

// UnmarshalJSON reads what MarshalJSON writes, and the older form.
func (p *AlarmPolicy) UnmarshalJSON(data []byte) error {
	type plain AlarmPolicy
	return durjson.Unmarshal(data, (*plain)(p), map[string]*time.Duration{"period": &p.Period, "p99Latency": &p.P99Latency})
}

// MarshalJSON writes the waits and timeouts as durations with seconds, and
// AutoRollback as [] when empty.
func (s Settings) MarshalJSON() ([]byte, error) {
	type plain Settings
	v := plain(s)
	if v.AutoRollback == nil {
		v.AutoRollback = []string{}
	}
	return durjson.Marshal(v, map[string]time.Duration{"readyWait": s.ReadyWait, "terminationWait": s.TerminationWait,
		"installTimeout": s.InstallTimeout, "stopGrace": s.StopGrace})
}

// UnmarshalJSON reads what MarshalJSON writes, and the older form.
func (s *Settings) UnmarshalJSON(data []byte) error {
	type plain Settings
	return durjson.Unmarshal(data, (*plain)(s), map[string]*time.Duration{"readyWait": &s.ReadyWait,
		"terminationWait": &s.TerminationWait, "installTimeout": &s.InstallTimeout, "stopGrace": &s.StopGrace})
}
