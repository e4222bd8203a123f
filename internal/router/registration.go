package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrTargetExists is returned when registering a target already in the group.
var ErrTargetExists = errors.New("target already registered")

// ErrUnknownTarget is returned when deregistering a target not in the group.
var ErrUnknownTarget = errors.New("target not registered")

// Register adds a target (http://host:port) to the target group bound to
// side g. Without health checks it takes traffic at once; with them, after
// its first passing check.
func (rt *Router) Register(g Group, rawURL string) error {
	key, err := rt.checkTarget(rawURL)
	if err != nil {
		return fmt.Errorf("register %s target: %w", g, err)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	grp := rt.bound.Load().side[g]
	if grp == rt.none {
		return fmt.Errorf("register %s target %s: no target group is bound to %s: %w", g, key, g, ErrUnknownGroup)
	}
	if err := rt.addTargetLocked(grp, key, StateInitial); err != nil {
		return fmt.Errorf("register %s target %s: %w", g, key, err)
	}
	rt.changed()
	return nil
}

// checkTarget parses a target URL and refuses one that reaches the router
// itself, or any once the router is closed.
func (rt *Router) checkTarget(rawURL string) (string, error) {
	key, err := ParseTarget(rawURL)
	if err != nil {
		return "", err
	}
	if rt.ctx.Err() != nil {
		return "", fmt.Errorf("%s: %w", key, ErrClosed)
	}
	if ln := rt.self.match(key); ln != "" {
		return "", fmt.Errorf("%s: it reaches the listener on %s: %w", key, ln, ErrSelfTarget)
	}
	return key, nil
}

// addTargetLocked adds the target key to grp and starts its health checks.
// state is where it starts when health checks are on: StateInitial for a
// new target, StateHealthy for one restored as healthy. Callers hold rt.mu.
func (rt *Router) addTargetLocked(grp *targetGroup, key string, state TargetState) error {
	grp.mu.Lock()
	if grp.findLocked(key) != nil {
		grp.mu.Unlock()
		return ErrTargetExists
	}
	t := &target{
		key:   key,
		url:   targetURL(key),
		addr:  strings.TrimPrefix(key, "http://"),
		group: grp,
		idle:  make(chan struct{}, 1),
	}
	t.pool = newConnPool(t.addr, rt.opts.DialTimeout, rt.opts.IdleConnTimeout, rt.opts.MaxIdlePerTarget)
	t.ctx, t.cancel = context.WithCancel(rt.ctx)
	if rt.opts.HealthCheck.Path == "" {
		state = StateHealthy
	}
	t.state.Store(int32(state))
	grp.all = append(grp.all, t)
	grp.rebuildLocked()
	grp.mu.Unlock()

	if rt.opts.HealthCheck.Path != "" {
		hctx, stop := context.WithCancel(t.ctx)
		t.stopHealth = stop
		rt.wg.Add(1)
		go func() {
			defer rt.wg.Done()
			rt.runHealthChecks(hctx, t)
		}()
	}
	rt.log.Info("target registered", "group", grp.name, "target", key)
	return nil
}

// Deregister starts draining a target of the group bound to side g: it
// gets no new request, its idle connections close, and in-flight requests
// may finish until the deregistration delay; then those left are cancelled
// (504) and upgraded connections are closed. The returned channel closes
// when the target is gone.
func (rt *Router) Deregister(g Group, rawURL string) (<-chan struct{}, error) {
	key, err := ParseTarget(rawURL)
	if err != nil {
		return nil, fmt.Errorf("deregister %s target: %w", g, err)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	grp := rt.bound.Load().side[g]
	grp.mu.Lock()
	t := grp.findLocked(key)
	grp.mu.Unlock()
	if t == nil {
		return nil, fmt.Errorf("deregister %s target %s: %w", g, key, ErrUnknownTarget)
	}
	return rt.drainTargetLocked(t), nil
}

// drainTargetLocked starts draining t; the channel closes when it is gone.
// Callers hold rt.mu.
func (rt *Router) drainTargetLocked(t *target) <-chan struct{} {
	grp := t.group
	grp.mu.Lock()
	t.draining.Store(true)
	grp.rebuildLocked()
	grp.mu.Unlock()
	if t.stopHealth != nil {
		t.stopHealth()
	}
	t.pool.startDrain()
	rt.log.Info("target draining", "group", grp.name, "target", t.key, "in_flight", t.inflight.Load(),
		"deregistration_delay", rt.opts.DeregistrationDelay)
	rt.changed()

	done := make(chan struct{})
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		defer close(done)
		rt.drain(t)
	}()
	return done
}

// drain waits for t's in-flight requests up to the deregistration delay,
// cuts those left, and removes t from its group.
func (rt *Router) drain(t *target) {
	deadline := rt.clock.After(rt.opts.DeregistrationDelay)
wait:
	for t.inflight.Load() > 0 {
		select {
		case <-t.idle:
		case <-deadline:
			break wait
		case <-rt.ctx.Done():
			break wait
		}
	}
	if n := t.inflight.Load(); n > 0 {
		rt.log.Warn("drain deadline passed, cancelling requests", "group", t.group.name, "target", t.key, "in_flight", n)
		t.expired.Store(true)
	}
	t.cancel()
	t.pool.closeAll()
	t.group.remove(t)
	rt.log.Info("target deregistered", "group", t.group.name, "target", t.key)
	rt.changed()
}
