package router

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// codeRange is an inclusive range of HTTP status codes.
type codeRange struct{ lo, hi int }

// parseSuccessCodes parses ALB's matcher syntax: "200", "200,204",
// "200-299", or a comma list mixing both.
func parseSuccessCodes(s string) ([]codeRange, error) {
	var out []codeRange
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parseCode(lo)
		if err != nil {
			return nil, fmt.Errorf("parse success codes %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = parseCode(hi); err != nil {
				return nil, fmt.Errorf("parse success codes %q: %w", s, err)
			}
			if b < a {
				return nil, fmt.Errorf("parse success codes %q: range %s is backwards", s, part)
			}
		}
		out = append(out, codeRange{a, b})
	}
	return out, nil
}

func parseCode(s string) (int, error) {
	if len(s) != 3 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("status code %q: want three digits", s)
	}
	n, _ := strconv.Atoi(s)
	if n < 100 || n > 599 {
		return 0, fmt.Errorf("status code %d: want 100..599", n)
	}
	return n, nil
}

func codeMatches(ranges []codeRange, code int) bool {
	for _, r := range ranges {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// healthTracker applies ALB's thresholds to a target's check results. Its
// state only changes after a full run of consecutive results, so a target
// flapping faster than the thresholds keeps its state.
type healthTracker struct {
	healthyThreshold, unhealthyThreshold int
	passes, failures                     int
	// last is the state observe returned last. A target found in another
	// was moved by passive health, and its run starts afresh: a target
	// taken out for refusing connections needs the healthy threshold of
	// passes counted from then.
	last TargetState
}

// observe folds one result into the tracker and returns the new state.
func (h *healthTracker) observe(state TargetState, passed bool) TargetState {
	if state != h.last {
		h.passes, h.failures = 0, 0
	}
	h.last = h.next(state, passed)
	return h.last
}

// breakRun records a failure that does not count toward the unhealthy
// threshold (see checkPace): it only ends a run of passes.
func (h *healthTracker) breakRun() { h.passes = 0 }

func (h *healthTracker) next(state TargetState, passed bool) TargetState {
	if passed {
		h.passes++
		h.failures = 0
	} else {
		h.failures++
		h.passes = 0
	}
	switch state {
	case StateInitial:
		if passed {
			return StateHealthy
		}
		if h.failures >= h.unhealthyThreshold {
			return StateUnhealthy
		}
	case StateHealthy:
		if h.failures >= h.unhealthyThreshold {
			return StateUnhealthy
		}
	case StateUnhealthy:
		if h.passes >= h.healthyThreshold {
			return StateHealthy
		}
	}
	return state
}

// startupInterval is how often a target is checked from its registration
// until its first pass, when health_check.interval is longer. A new task
// answers within milliseconds of starting, but its first check often comes
// a moment too early; waiting a whole interval (5s by default) for the
// second would hold a deployment for nothing. Envoy checks a host that has
// no traffic yet on a separate no_traffic_interval for the same reason.
const startupInterval = 250 * time.Millisecond

// checkPace times one target's checks. Until the target's first pass it is
// starting: checks come every startupInterval, and its failures count
// toward the unhealthy threshold at most once per interval, so a slow
// starter is marked unhealthy no sooner than with checks every interval
// (with the defaults: after failing for 5s, as before). A failure that does
// not count still breaks a run of passes: the healthy threshold, for a
// starting target already marked unhealthy, counts consecutive passes
// however close together they come. From the first pass on, checks come
// every interval and every result counts.
type checkPace struct {
	interval time.Duration
	started  bool      // the target has passed a check
	countAt  time.Time // while starting, the first time a failure counts again
}

// counts reports whether a failure at now counts toward the unhealthy
// threshold.
func (p *checkPace) counts(now time.Time) bool {
	if p.started {
		return true
	}
	if now.Before(p.countAt) {
		return false
	}
	p.countAt = now.Add(p.interval)
	return true
}

// next returns the wait before the next check, once the target's state
// after this one is known.
func (p *checkPace) next(st TargetState) time.Duration {
	if st == StateHealthy {
		p.started = true
	}
	if p.started {
		return p.interval
	}
	return min(startupInterval, p.interval)
}

// runHealthChecks checks t now, then at the pace of checkPace until ctx
// ends.
func (rt *Router) runHealthChecks(ctx context.Context, t *target) {
	hc := rt.opts.HealthCheck
	tracker := healthTracker{healthyThreshold: hc.HealthyThreshold, unhealthyThreshold: hc.UnhealthyThreshold}
	pace := checkPace{interval: hc.Interval}
	for {
		err := rt.probe(ctx, t)
		if ctx.Err() != nil {
			return
		}
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		t.lastCheck.Store(&msg)
		old := t.healthState()
		st := old
		if err == nil || pace.counts(rt.clock.Now()) {
			st = tracker.observe(old, err == nil)
		} else {
			tracker.breakRun()
		}
		if st != old && t.state.CompareAndSwap(int32(old), int32(st)) {
			t.group.rebuild()
			rt.changed()
			rt.log.Info("target health changed", "group", t.group.name, "target", t.key,
				"from", old, "to", st, "last_check", msg)
		}
		select {
		case <-ctx.Done():
			return
		case <-rt.clock.After(pace.next(t.healthState())):
		}
	}
}

// probe runs one health check against t.
func (rt *Router) probe(ctx context.Context, t *target) error {
	hc := rt.opts.HealthCheck
	ctx, cancel := context.WithTimeout(ctx, hc.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.key+hc.Path, nil)
	if err != nil {
		return fmt.Errorf("health check %s: %w", t.key, err)
	}
	req.Header.Set("User-Agent", "canaryflow-health-check")
	resp, err := rt.healthClient.Do(req)
	if err != nil {
		return fmt.Errorf("health check %s: %w", t.key, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if !codeMatches(rt.successCodes, resp.StatusCode) {
		return fmt.Errorf("health check %s%s: status %d not in %s", t.key, hc.Path, resp.StatusCode, hc.SuccessCodes)
	}
	return nil
}
