package router

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// Group names one of the production listener's two sides. Each side is
// bound to a target group (see Routing): blue to the original version's,
// green to the replacement's.
type Group int

// The two sides of the production split.
const (
	Blue Group = iota
	Green
	// testSide is the test listener's binding; it is no side of the split.
	testSide
)

// String returns "blue", "green" or "test".
func (g Group) String() string {
	switch g {
	case Green:
		return "green"
	case testSide:
		return "test"
	}
	return "blue"
}

// other returns the opposite side of the split.
func (g Group) other() Group { return 1 - g }

// MarshalText renders the group name, for JSON.
func (g Group) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText parses a group name, for JSON.
func (g *Group) UnmarshalText(b []byte) error {
	p, err := ParseGroup(string(b))
	if err != nil {
		return err
	}
	*g = p
	return nil
}

// ParseGroup accepts "blue" or "green", in any case.
func ParseGroup(s string) (Group, error) {
	switch {
	case strings.EqualFold(s, "blue"):
		return Blue, nil
	case strings.EqualFold(s, "green"):
		return Green, nil
	}
	return Blue, fmt.Errorf("parse group %q: want blue or green", s)
}

// targetGroup holds one target group's targets, such as one task set's.
// Readers (the request path) load copy-on-write slices; writers hold mu.
// Its counters belong to it alone: a new group starts at zero, whatever
// side of the split it is bound to.
type targetGroup struct {
	name string

	mu      sync.Mutex
	all     []*target                 // every registered target, draining ones included
	healthy atomic.Pointer[[]*target] // targets that may receive new requests
	rr      atomic.Uint32

	stats      counters
	redirected atomic.Uint64 // requests this group's weight won but went to the other group
}

func newTargetGroup(name string) *targetGroup {
	g := &targetGroup{name: name}
	g.healthy.Store(&[]*target{})
	return g
}

// rebuild recomputes the healthy slice; callers hold g.mu.
func (g *targetGroup) rebuildLocked() {
	hs := make([]*target, 0, len(g.all))
	for _, t := range g.all {
		if t.eligible() {
			hs = append(hs, t)
		}
	}
	g.healthy.Store(&hs)
}

func (g *targetGroup) rebuild() {
	g.mu.Lock()
	g.rebuildLocked()
	g.mu.Unlock()
}

// hasHealthy reports whether any target may take a new request.
func (g *targetGroup) hasHealthy() bool { return len(*g.healthy.Load()) > 0 }

// pick returns the next healthy target in round-robin order with one
// in-flight request acquired on it, avoiding except when there is a choice.
// It returns nil when the group has no healthy target.
func (g *targetGroup) pick(except *target) *target {
	hs := *g.healthy.Load()
	n := uint32(len(hs))
	for range n {
		t := hs[g.rr.Add(1)%n]
		if t == except && n > 1 {
			continue
		}
		if t.acquire() {
			return t
		}
	}
	return nil
}

// findLocked returns the registered, not draining target with key, or nil.
func (g *targetGroup) findLocked(key string) *target {
	for _, t := range g.all {
		if t.key == key && !t.draining.Load() {
			return t
		}
	}
	return nil
}

// remove drops t from the group once it has drained.
func (g *targetGroup) remove(t *target) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, x := range g.all {
		if x == t {
			g.all = append(g.all[:i:i], g.all[i+1:]...)
			break
		}
	}
	g.rebuildLocked()
}

// targets returns a copy of the registered targets.
func (g *targetGroup) targets() []*target {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*target(nil), g.all...)
}
