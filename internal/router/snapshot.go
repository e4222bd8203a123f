package router

// Snapshot is a consistent-enough copy of the router's state for the
// dashboard and the admin endpoint: weights, targets and their counters.
type Snapshot struct {
	Weights Weights         `json:"weights"`
	Blue    GroupSnapshot   `json:"blue"`
	Green   GroupSnapshot   `json:"green"`
	Metrics MetricsSnapshot `json:"metrics"`
}

// MetricsSnapshot holds router-wide counters.
type MetricsSnapshot struct {
	// Unavailable counts 503s answered for want of a healthy target.
	Unavailable uint64 `json:"unavailable"`
}

// GroupSnapshot is one target group's state.
type GroupSnapshot struct {
	GroupMetrics
	Targets []TargetSnapshot `json:"targets"`
}

// TargetSnapshot is one target's state.
type TargetSnapshot struct {
	URL   string      `json:"url"`
	State TargetState `json:"state"`
	// InFlight is the number of requests being served by the target now.
	InFlight int64 `json:"in_flight"`
	// LastCheck is the last health check's error; empty when it passed or
	// checks are off.
	LastCheck string   `json:"last_check,omitempty"`
	Counters  Counters `json:"counters"`
}

// Snapshot returns the router's current state.
func (rt *Router) Snapshot() Snapshot {
	s := Snapshot{Weights: rt.Weights(), Metrics: MetricsSnapshot{Unavailable: rt.unavailableCount.Load()}}
	for _, g := range []Group{Blue, Green} {
		gs := GroupSnapshot{GroupMetrics: rt.groupMetrics(g), Targets: []TargetSnapshot{}}
		for _, t := range rt.groups[g].targets() {
			ts := TargetSnapshot{URL: t.key, State: t.publicState(), InFlight: t.inflight.Load(), Counters: t.stats.read()}
			if p := t.lastCheck.Load(); p != nil {
				ts.LastCheck = *p
			}
			gs.Targets = append(gs.Targets, ts)
		}
		if g == Green {
			s.Green = gs
		} else {
			s.Blue = gs
		}
	}
	return s
}

// Metrics returns the counters and health figures the deployment controller
// reads for its alarms. Counters only grow: diff two readings for a window.
func (rt *Router) Metrics() Metrics {
	return Metrics{Blue: rt.groupMetrics(Blue), Green: rt.groupMetrics(Green), Unavailable: rt.unavailableCount.Load()}
}

func (rt *Router) groupMetrics(g Group) GroupMetrics {
	grp := rt.groups[g]
	m := GroupMetrics{
		Counters:        grp.stats.read(),
		Weight:          rt.split.weightOf(g),
		Redirected:      grp.redirected.Load(),
		NoHealthyTarget: !grp.hasHealthy(),
	}
	for _, t := range grp.targets() {
		switch t.publicState() {
		case StateHealthy:
			m.HealthyTargets++
		case StateUnhealthy, StateInitial:
			m.UnhealthyTargets++
		case StateDraining:
			m.DrainingTargets++
		}
	}
	return m
}
