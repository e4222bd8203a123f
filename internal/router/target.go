package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
)

// TargetState is a target's health as the router sees it, with ALB's names.
type TargetState int32

// Target states. Only healthy targets that are not draining receive new
// requests.
const (
	StateInitial   TargetState = iota // registered, first health check pending
	StateHealthy                      // passing health checks
	StateUnhealthy                    // failing health checks
	StateDraining                     // deregistered, finishing in-flight requests
)

// String returns the ALB name of the state.
func (s TargetState) String() string {
	switch s {
	case StateHealthy:
		return "healthy"
	case StateUnhealthy:
		return "unhealthy"
	case StateDraining:
		return "draining"
	}
	return "initial"
}

// MarshalText renders the state name, for JSON.
func (s TargetState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a state name, for JSON.
func (s *TargetState) UnmarshalText(b []byte) error {
	for _, st := range []TargetState{StateInitial, StateHealthy, StateUnhealthy, StateDraining} {
		if st.String() == string(b) {
			*s = st
			return nil
		}
	}
	return fmt.Errorf("parse target state %q: unknown", b)
}

// ErrInvalidTarget is returned for a target URL the router cannot forward to.
var ErrInvalidTarget = errors.New("invalid target")

// ParseTarget validates an upstream URL (http://host:port, no path, query or
// user info) and returns its canonical form "http://host:port".
func ParseTarget(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("parse target %q: %w", raw, ErrInvalidTarget)
	}
	if u.Scheme != "http" {
		return "", fmt.Errorf("parse target %q: scheme must be http: %w", raw, ErrInvalidTarget)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("parse target %q: want http://host:port with nothing after it: %w", raw, ErrInvalidTarget)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" || port == "" {
		return "", fmt.Errorf("parse target %q: want host:port: %w", raw, ErrInvalidTarget)
	}
	if p, err := net.LookupPort("tcp", port); err != nil || p <= 0 || p > 65535 || strings.Trim(port, "0123456789") != "" {
		return "", fmt.Errorf("parse target %q: bad port %q: %w", raw, port, ErrInvalidTarget)
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// ParseTargetList splits a comma-separated list of target URLs, as the CLI's
// --blue and --green flags take them, and rejects duplicates.
func ParseTargetList(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for raw := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(raw) == "" {
			return nil, fmt.Errorf("parse target list %q: empty entry: %w", s, ErrInvalidTarget)
		}
		t, err := ParseTarget(raw)
		if err != nil {
			return nil, err
		}
		if seen[t] {
			return nil, fmt.Errorf("parse target list %q: %s twice: %w", s, t, ErrInvalidTarget)
		}
		seen[t] = true
		out = append(out, t)
	}
	return out, nil
}

// target is one upstream endpoint in a group.
type target struct {
	key   string // canonical URL, http://host:port
	url   *url.URL
	addr  string       // host:port to dial
	group *targetGroup // the group it belongs to
	pool  *connPool

	state    atomic.Int32 // TargetState, health only (draining is separate)
	draining atomic.Bool
	expired  atomic.Bool // drain deadline passed: in-flight requests were cut
	inflight atomic.Int64
	idle     chan struct{} // signalled when inflight drops to 0 while draining

	// ctx is cancelled when the target's drain ends or the router closes;
	// it stops health checks and upgraded connections.
	ctx        context.Context
	cancel     context.CancelFunc
	stopHealth context.CancelFunc

	stats counters
	// lastCheck is the last health check error, "" when it passed.
	lastCheck atomic.Pointer[string]
}

func (t *target) healthState() TargetState { return TargetState(t.state.Load()) }

// State returns the state shown in snapshots.
func (t *target) publicState() TargetState {
	if t.draining.Load() {
		return StateDraining
	}
	return t.healthState()
}

// eligible reports whether t may receive new requests.
func (t *target) eligible() bool {
	return !t.draining.Load() && t.healthState() == StateHealthy
}

// acquire counts one more in-flight request unless t started draining.
// Incrementing before checking draining pairs with drain, which sets
// draining before reading inflight, so no request slips past a drain.
func (t *target) acquire() bool {
	t.inflight.Add(1)
	if t.draining.Load() {
		t.release()
		return false
	}
	return true
}

func (t *target) release() {
	if t.inflight.Add(-1) == 0 && t.draining.Load() {
		select {
		case t.idle <- struct{}{}:
		default:
		}
	}
}
