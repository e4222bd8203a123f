package router

import (
	"errors"
	"net/http"
	"time"
)

// passiveRecovery is how long a target taken out by passive health stays
// out when no active health check is configured to bring it back: nginx's
// fail_timeout.
const passiveRecovery = 10 * time.Second

// isConnectFailure reports whether err is a failure to connect to a target
// (refused, reset or timed out before the connection was up): no byte of
// the request reached it. A drain that closed the pool is not one.
func isConnectFailure(err error) bool {
	var de *dialError
	return errors.As(err, &de) && !errors.Is(err, errPoolClosed)
}

// markDown takes t out of rotation at once after it failed a connection,
// as nginx's max_fails=1 and HAProxy's observe layer4 do, instead of
// failing a share of requests until the active checks notice. Active
// checks, or without them passiveRecovery, bring it back. The last target
// able to take traffic, in either group, stays in: taking it out would
// only turn its 502s into 503s.
func (rt *Router) markDown(t *target, err error) {
	// One at a time, so two targets failing together cannot both see the
	// other as the one left.
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !rt.othersEligible(t) || !t.state.CompareAndSwap(int32(StateHealthy), int32(StateUnhealthy)) {
		return
	}
	msg := "passive: " + err.Error()
	t.lastCheck.Store(&msg)
	t.group.rebuild()
	rt.changed()
	rt.log.Warn("target health changed", "group", t.group.name, "target", t.key,
		"from", StateHealthy, "to", StateUnhealthy, "last_check", msg)
	if rt.opts.HealthCheck.Path != "" || rt.ctx.Err() != nil {
		return
	}
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		select {
		case <-t.ctx.Done():
			return
		case <-rt.clock.After(passiveRecovery):
		}
		if t.state.CompareAndSwap(int32(StateUnhealthy), int32(StateHealthy)) {
			t.group.rebuild()
			rt.changed()
			rt.log.Info("target health changed", "group", t.group.name, "target", t.key,
				"from", StateUnhealthy, "to", StateHealthy, "after", passiveRecovery)
		}
	}()
}

// othersEligible reports whether a target other than t may take new
// requests.
func (rt *Router) othersEligible(t *target) bool {
	b := rt.bound.Load()
	for _, g := range b.side[:testSide] {
		for _, x := range *g.healthy.Load() {
			if x != t {
				return true
			}
		}
	}
	return false
}

// forwardRetrying forwards r to t, of group g, and sends it once more
// where it may go when nothing reached t: to a fresh connection (another
// target of g if there is one) after a reused connection broke, or, after
// t refused a connection, to another target of g or, unless the request
// must stay in g, of the other group. It returns the result and the target
// and group that gave it; the target's in-flight count is held.
func (rt *Router) forwardRetrying(w http.ResponseWriter, r *http.Request, t *target, g Group, strict, sticky bool) (forwardResult, *target, Group) {
	res := rt.forward(w, r, t, false, rt.cookieFor(g, sticky))
	if !res.retry {
		return res, t, g
	}
	return rt.retryForward(w, r, t, g, strict, sticky, &res)
}

// retryForward is forwardRetrying's second attempt, after first, kept out of
// it so the frame every request goes through stays small (see
// answerFailed).
func (rt *Router) retryForward(w http.ResponseWriter, r *http.Request, t *target, g Group, strict, sticky bool, first *forwardResult) (forwardResult, *target, Group) {
	res := *first
	prev, refused := t, isConnectFailure(res.err)
	if refused {
		rt.markDown(prev, res.err)
	}
	b := rt.bound.Load()
	next, ng := prev.group.pick(prev), g
	if next == prev && refused {
		next.release() // the only one of g, and it just refused
		next = nil
	}
	if next == nil && refused && !strict {
		if next = b.side[g.other()].pick(nil); next != nil {
			b.side[g].redirected.Add(1)
			ng = g.other()
		}
	}
	if next == nil {
		res.status = http.StatusBadGateway
		return res, prev, g
	}
	rt.log.Debug("retrying on another target", "group", ng, "from", prev.key, "to", next.key, "err", res.err)
	prev.release()
	res = rt.forward(w, r, next, res.fresh, rt.cookieFor(ng, sticky))
	if res.retry {
		res.status = http.StatusBadGateway
	}
	return res, next, ng
}

// cookieFor returns the Set-Cookie value that keeps a sticky client on g,
// or "" when the answer sets none.
func (rt *Router) cookieFor(g Group, sticky bool) string {
	if !sticky {
		return ""
	}
	return rt.stickyCookies[g]
}
