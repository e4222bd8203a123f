package awsfmt

import (
	"fmt"
	"sort"
	"time"

	"github.com/canaryflow/canaryflow/internal/durjson"
)

// Traffic routing types, by CodeDeploy's names.
const (
	TimeBasedCanary = "TimeBasedCanary"
	TimeBasedLinear = "TimeBasedLinear"
	AllAtOnce       = "AllAtOnce"
)

// TrafficRouting says how production traffic moves to the replacement task
// set: canary (Percent, then the rest after Interval), linear (Percent more
// every Interval) or all at once.
type TrafficRouting struct {
	Type     string        `json:"type"`     // TimeBasedCanary, TimeBasedLinear or AllAtOnce
	Percent  int           `json:"percent"`  // canary or linear step, 1-99; 0 for AllAtOnce
	Interval time.Duration `json:"interval"` // wait after each step; 0 for AllAtOnce
}

// MarshalJSON writes camelCase keys and Interval as "5m0s" with
// intervalSeconds (package durjson).
func (r TrafficRouting) MarshalJSON() ([]byte, error) {
	type plain TrafficRouting
	return durjson.Marshal(plain(r), map[string]time.Duration{"interval": r.Interval})
}

// UnmarshalJSON reads what MarshalJSON writes, and the older form
// ({"Type", "Percent", "Interval"} in nanoseconds: keys match in any case).
func (r *TrafficRouting) UnmarshalJSON(data []byte) error {
	type plain TrafficRouting
	return durjson.Unmarshal(data, (*plain)(r), map[string]*time.Duration{"interval": &r.Interval})
}

// Validate reports a routing AWS would not accept. Intervals may be any
// whole number of seconds locally (AWS wants whole minutes).
func (r TrafficRouting) Validate() error {
	switch r.Type {
	case AllAtOnce:
		if r.Percent != 0 || r.Interval != 0 {
			return fmt.Errorf("%s takes no percent or interval", AllAtOnce)
		}
		return nil
	case TimeBasedCanary, TimeBasedLinear:
	default:
		return fmt.Errorf("type %q: want %s, %s or %s", r.Type, TimeBasedCanary, TimeBasedLinear, AllAtOnce)
	}
	if r.Percent < 1 || r.Percent > 99 {
		return fmt.Errorf("%s percent %d: want 1-99", r.Type, r.Percent)
	}
	if r.Interval < time.Second || r.Interval%time.Second != 0 {
		return fmt.Errorf("%s interval %s: want a whole number of seconds, at least 1s", r.Type, r.Interval)
	}
	return nil
}

// Steps returns the production weight (percent on the replacement) after
// each shift, ending at 100: [10 100] for a 10% canary, [10 20 … 100] for
// 10% linear, [100] for all at once.
func (r TrafficRouting) Steps() []int {
	switch r.Type {
	case TimeBasedCanary:
		return []int{r.Percent, 100}
	case TimeBasedLinear:
		var out []int
		for p := r.Percent; p < 100; p += r.Percent {
			out = append(out, p)
		}
		return append(out, 100)
	default:
		return []int{100}
	}
}

func (r TrafficRouting) String() string {
	if r.Type == AllAtOnce {
		return AllAtOnce
	}
	return fmt.Sprintf("%s{percent: %d, interval: %s}", r.Type, r.Percent, r.Interval)
}

// predefined are CodeDeploy's ECS deployment configurations.
var predefined = map[string]TrafficRouting{
	"CodeDeployDefault.ECSCanary10Percent5Minutes":      {TimeBasedCanary, 10, 5 * time.Minute},
	"CodeDeployDefault.ECSCanary10Percent15Minutes":     {TimeBasedCanary, 10, 15 * time.Minute},
	"CodeDeployDefault.ECSLinear10PercentEvery1Minutes": {TimeBasedLinear, 10, time.Minute},
	"CodeDeployDefault.ECSLinear10PercentEvery3Minutes": {TimeBasedLinear, 10, 3 * time.Minute},
	"CodeDeployDefault.ECSAllAtOnce":                    {Type: AllAtOnce},
}

// DefaultDeploymentConfig is the configuration the guide uses.
const DefaultDeploymentConfig = "CodeDeployDefault.ECSCanary10Percent5Minutes"

// PredefinedDeploymentConfig returns the routing of one of CodeDeploy's
// predefined ECS deployment configurations, by its AWS name.
func PredefinedDeploymentConfig(name string) (TrafficRouting, bool) {
	r, ok := predefined[name]
	return r, ok
}

// PredefinedDeploymentConfigNames lists the predefined ECS configuration
// names, sorted.
func PredefinedDeploymentConfigNames() []string {
	out := make([]string, 0, len(predefined))
	for n := range predefined {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
