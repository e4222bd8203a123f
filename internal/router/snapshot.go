package router

// Snapshot is a consistent-enough copy of the router's state for the
// dashboard and the admin endpoint: weights, targets and their counters.
type Snapshot struct {
	Weights Weights `json:"weights"`
	// Blue and Green are the groups bound to the two sides of the split
	// (empty where none is).
	Blue    GroupSnapshot `json:"blue"`
	Green   GroupSnapshot `json:"green"`
	Routing Routing       `json:"routing"`
	// Groups holds every target group by name, bound or not.
	Groups  map[string]GroupSnapshot `json:"groups"`
	Metrics MetricsSnapshot          `json:"metrics"`
}

// MetricsSnapshot holds router-wide counters.
type MetricsSnapshot struct {
	// Unavailable counts 503s answered for want of a healthy target.
	Unavailable uint64 `json:"unavailable"`
}

// GroupSnapshot is one target group's state.
type GroupSnapshot struct {
	Name string `json:"name,omitempty"`
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
	b := rt.bound.Load()
	s := Snapshot{Weights: rt.Weights(), Routing: rt.Routing(), Groups: map[string]GroupSnapshot{},
		Metrics: MetricsSnapshot{Unavailable: rt.unavailableCount.Load()}}
	s.Blue, s.Green = rt.groupSnapshot(b.side[Blue]), rt.groupSnapshot(b.side[Green])
	for _, grp := range rt.allGroups() {
		s.Groups[grp.name] = rt.groupSnapshot(grp)
	}
	return s
}

func (rt *Router) groupSnapshot(grp *targetGroup) GroupSnapshot {
	gs := GroupSnapshot{Name: grp.name, GroupMetrics: rt.metricsOf(grp), Targets: []TargetSnapshot{}}
	for _, t := range grp.targets() {
		ts := TargetSnapshot{URL: t.key, State: t.publicState(), InFlight: t.inflight.Load(), Counters: t.stats.read()}
		if p := t.lastCheck.Load(); p != nil {
			ts.LastCheck = *p
		}
		gs.Targets = append(gs.Targets, ts)
	}
	return gs
}

// Metrics returns the counters and health figures of the groups bound to
// the two sides of the split. Counters only grow: diff two readings of the
// same group for a window.
func (rt *Router) Metrics() Metrics {
	b := rt.bound.Load()
	return Metrics{Blue: rt.metricsOf(b.side[Blue]), Green: rt.metricsOf(b.side[Green]), Unavailable: rt.unavailableCount.Load()}
}

// GroupSnapshot returns the state of the target group called name; ok is
// false when there is none.
func (rt *Router) GroupSnapshot(name string) (s GroupSnapshot, ok bool) {
	rt.mu.Lock()
	grp := rt.groups[name]
	rt.mu.Unlock()
	if grp == nil {
		return GroupSnapshot{}, false
	}
	return rt.groupSnapshot(grp), true
}

// GroupMetrics returns the figures of the target group called name; ok is
// false when there is none. Its counters start at zero with the group.
func (rt *Router) GroupMetrics(name string) (m GroupMetrics, ok bool) {
	rt.mu.Lock()
	grp := rt.groups[name]
	rt.mu.Unlock()
	if grp == nil {
		return GroupMetrics{}, false
	}
	return rt.metricsOf(grp), true
}

func (rt *Router) metricsOf(grp *targetGroup) GroupMetrics {
	m := GroupMetrics{
		Counters:        grp.stats.read(),
		Redirected:      grp.redirected.Load(),
		NoHealthyTarget: !grp.hasHealthy(),
	}
	b := rt.bound.Load()
	for _, g := range []Group{Blue, Green} {
		if grp != rt.none && b.side[g] == grp {
			m.Weight = rt.split.weightOf(g)
		}
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
