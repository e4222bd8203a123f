package router

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// ErrUnknownGroup is returned for a target group the router does not have.
var ErrUnknownGroup = errors.New("unknown target group")

// ErrGroupInUse is returned when removing a target group a listener is
// bound to.
var ErrGroupInUse = errors.New("target group in use")

// Routing binds the listeners to target groups, by name: the production
// listener splits its requests between Blue and Green by Weights, and the
// test listener sends every request to Test. An empty name binds nothing:
// a side with no group takes no request, so its share goes to the other
// side, and a test listener bound to nothing answers 503.
type Routing struct {
	Blue    string  `json:"blue"`
	Green   string  `json:"green"`
	Test    string  `json:"test"`
	Weights Weights `json:"weights"`
}

// binding is what the listeners route to now, swapped whole by Route so
// that a request sees one binding or the next, never a mix.
type binding struct {
	side [3]*targetGroup // Blue, Green, testSide; rt.none where nothing is
}

// State is what a router needs to come back as it was after a restart: its
// target groups, their targets with their health, and the routing.
type State struct {
	Groups  map[string][]TargetRecord `json:"groups"`
	Routing Routing                   `json:"routing"`
}

// TargetRecord is one target of a saved State. A target saved healthy comes
// back healthy, so a restart does not hold traffic for the first checks;
// the checks and passive health still take it out if it is gone.
type TargetRecord struct {
	URL     string `json:"url"`
	Healthy bool   `json:"healthy,omitempty"`
}

// checkGroupName refuses names that would not read well in logs, metrics
// labels and URL paths.
func checkGroupName(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("target group name %q: want 1 to 128 characters", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("target group name %q: want letters, digits, '-', '_' or '.'", name)
		}
	}
	return nil
}

// SetGroup makes the target group name hold exactly urls, creating it if
// needed: new targets are registered (they take traffic after their first
// passing health check), targets no longer listed start draining, and the
// others are left alone. Calling it again with the same list changes
// nothing.
func (rt *Router) SetGroup(name string, urls []string) error {
	if err := checkGroupName(name); err != nil {
		return err
	}
	want := make([]string, 0, len(urls))
	seen := map[string]bool{}
	for _, raw := range urls {
		key, err := rt.checkTarget(raw)
		if err != nil {
			return fmt.Errorf("target group %s: %w", name, err)
		}
		if !seen[key] {
			seen[key] = true
			want = append(want, key)
		}
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	grp := rt.groupLocked(name)
	for _, t := range grp.targets() {
		if !t.draining.Load() && !seen[t.key] {
			rt.drainTargetLocked(t)
		}
	}
	for _, key := range want {
		if err := rt.addTargetLocked(grp, key, StateInitial); err != nil && !errors.Is(err, ErrTargetExists) {
			return fmt.Errorf("target group %s: %s: %w", name, key, err)
		}
	}
	rt.changed()
	return nil
}

// groupLocked returns the group called name, created empty if need be.
// Callers hold rt.mu.
func (rt *Router) groupLocked(name string) *targetGroup {
	grp := rt.groups[name]
	if grp == nil {
		grp = newTargetGroup(name)
		rt.groups[name] = grp
		rt.log.Info("target group created", "group", name)
	}
	return grp
}

// RemoveGroup drains every target of the group and forgets it; the channel
// closes when the last target is gone. A group a listener is bound to is
// refused (ErrGroupInUse); removing one that does not exist is not an
// error.
func (rt *Router) RemoveGroup(name string) (<-chan struct{}, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	grp := rt.groups[name]
	done := make(chan struct{})
	if grp == nil {
		close(done)
		return done, nil
	}
	for g, x := range rt.bound.Load().side {
		if x == grp {
			return nil, fmt.Errorf("remove target group %s: the %s listener side is bound to it: %w", name, Group(g), ErrGroupInUse)
		}
	}
	delete(rt.groups, name)
	var drains []<-chan struct{}
	for _, t := range grp.targets() {
		if !t.draining.Load() {
			drains = append(drains, rt.drainTargetLocked(t))
		}
	}
	rt.log.Info("target group removed", "group", name, "draining", len(drains))
	rt.changed()
	go func() {
		defer close(done)
		for _, ch := range drains {
			<-ch
		}
	}()
	return done, nil
}

// Route binds the listeners as r says, in one change: the next request
// sees the new binding and weights, and none in flight is affected. A name
// that is no group yet gets an empty one, as an ALB listener may forward to
// a target group with no targets.
func (rt *Router) Route(r Routing) error {
	if err := r.Weights.Validate(); err != nil {
		return fmt.Errorf("route: %w", err)
	}
	for _, name := range []string{r.Blue, r.Green, r.Test} {
		if name != "" {
			if err := checkGroupName(name); err != nil {
				return fmt.Errorf("route: %w", err)
			}
		}
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	b := &binding{}
	for g, name := range []string{r.Blue, r.Green, r.Test} {
		b.side[g] = rt.none
		if name != "" {
			b.side[g] = rt.groupLocked(name)
		}
	}
	old := rt.routingLocked()
	// The binding goes first: a side left with no group passes its share
	// to the other side, so no request meets an unbound weight.
	rt.bound.Store(b)
	rt.split.set(r.Weights)
	if old != r {
		rt.log.Info("routing changed", "blue", r.Blue, "green", r.Green, "test", r.Test, "weights", r.Weights.String())
	}
	rt.changed()
	return nil
}

// Routing returns the current binding of the listeners.
func (rt *Router) Routing() Routing {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.routingLocked()
}

func (rt *Router) routingLocked() Routing {
	b := rt.bound.Load()
	return Routing{Blue: b.side[Blue].name, Green: b.side[Green].name, Test: b.side[testSide].name, Weights: rt.split.weights()}
}

// GroupNames returns the names of the router's target groups, sorted.
func (rt *Router) GroupNames() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Sorted(maps.Keys(rt.groups))
}

// allGroups returns every group, bound or not.
func (rt *Router) allGroups() []*targetGroup {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Collect(maps.Values(rt.groups))
}

// State returns what a restart needs: the groups, their targets that are
// not draining, and the routing.
func (rt *Router) State() State {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	s := State{Groups: map[string][]TargetRecord{}, Routing: rt.routingLocked()}
	for name, grp := range rt.groups {
		recs := []TargetRecord{}
		for _, t := range grp.targets() {
			if !t.draining.Load() {
				recs = append(recs, TargetRecord{URL: t.key, Healthy: t.healthState() == StateHealthy})
			}
		}
		s.Groups[name] = recs
	}
	return s
}

// restore puts back a saved State.
func (rt *Router) restore(s State) error {
	if err := rt.restoreGroups(s.Groups); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return rt.Route(s.Routing)
}

func (rt *Router) restoreGroups(groups map[string][]TargetRecord) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for name, recs := range groups {
		if err := checkGroupName(name); err != nil {
			return err
		}
		grp := rt.groupLocked(name)
		for _, rec := range recs {
			key, err := rt.checkTarget(rec.URL)
			if err != nil {
				return fmt.Errorf("target group %s: %w", name, err)
			}
			state := StateInitial
			if rec.Healthy {
				state = StateHealthy
			}
			if err := rt.addTargetLocked(grp, key, state); err != nil && !errors.Is(err, ErrTargetExists) {
				return fmt.Errorf("target group %s: %s: %w", name, key, err)
			}
		}
	}
	return nil
}

// bindBlueGreen sets up the standalone proxy's two groups, "blue" and
// "green", bound to their sides (the test listener reaches green), with
// their initial targets.
func (rt *Router) bindBlueGreen(blue, green []string) error {
	w := GreenWeights(rt.opts.GreenWeight)
	if err := rt.Route(Routing{Blue: "blue", Green: "green", Test: "green", Weights: w}); err != nil {
		return err
	}
	for g, list := range [][]string{blue, green} {
		for _, raw := range list {
			if err := rt.Register(Group(g), raw); err != nil {
				return err
			}
		}
	}
	return nil
}

// changed tells Options.StateChanged that State would now read otherwise.
func (rt *Router) changed() {
	if rt.opts.StateChanged != nil {
		rt.opts.StateChanged()
	}
}
