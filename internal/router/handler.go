package router

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"strings"
	"time"
)

// Listener names one of the router's listeners.
type Listener int

// The listeners: production splits by weight; test always routes to green,
// like CodeDeploy's test traffic route.
const (
	Production Listener = iota
	Test
)

// String returns "production" or "test".
func (l Listener) String() string {
	if l == Test {
		return "test"
	}
	return "production"
}

// Handler returns the http.Handler of listener l.
func (rt *Router) Handler(l Listener) http.Handler { return listenerHandler{rt: rt, test: l == Test} }

type listenerHandler struct {
	rt   *Router
	test bool
}

func (h listenerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := h.rt
	if via := r.Header["Via"]; len(via) > 0 && rt.looped(via) {
		rt.refuseLoop(w, r)
		return
	}
	start := time.Now()
	g, strict, sticky := rt.choose(r, h.test)
	delete(r.Header, rt.pinStrip)
	b := rt.bound.Load()
	t := b.side[g].pick(nil)
	if t == nil && !strict {
		if t = b.side[g.other()].pick(nil); t != nil {
			b.side[g].redirected.Add(1)
			g = g.other()
		}
	}
	if t == nil {
		rt.unavailable(w, r, b.side[g], strict)
		return
	}
	var res forwardResult
	if isUpgrade(r) {
		res = rt.serveUpgrade(w, r, t)
	} else {
		res, t, g = rt.forwardRetrying(w, r, t, g, strict, sticky)
		if res.status == 0 {
			res.status = http.StatusBadGateway
		}
		if !res.wroteHeader() {
			answerFailed(w, res.status, g, t)
		}
	}
	d := time.Since(start)
	t.stats.record(res.status, d)
	t.group.stats.record(res.status, d)
	t.release()
	if res.err != nil {
		rt.logFailed(r, &res, g, t, d)
	}
	if res.abort {
		panic(http.ErrAbortHandler)
	}
}

// answerFailed and logFailed are ServeHTTP's rare paths, kept out of it: a
// connection's goroutine runs ServeHTTP for every request, and the deepest
// point of a request sets how large every goroutine's stack grows (4 KB,
// or 8 KB past about 3 KB deep). Their arguments and formatting, on
// ServeHTTP's frame, put that point past the line.
func answerFailed(w http.ResponseWriter, status int, g Group, t *target) {
	writeError(w, status, fmt.Sprintf("canaryflow: %s target %s: %s", g, t.key, http.StatusText(status)))
}

func (rt *Router) logFailed(r *http.Request, res *forwardResult, g Group, t *target, d time.Duration) {
	level := rt.log.Warn
	if res.status == StatusClientClosedRequest {
		level = rt.log.Info
	}
	level("proxy request", "status", res.status, "group", g, "target", t.key,
		"method", r.Method, "path", r.URL.Path, "duration", d, "err", res.err)
}

// wroteHeader reports whether the response header already went out.
func (f forwardResult) wroteHeader() bool {
	return f.err == nil || f.abort || f.status == StatusClientClosedRequest || f.sent
}

// choose picks the group for r. strict means the request must not move to
// the other group (test listener, pin header); sticky means the answer should
// set the sticky cookie.
func (rt *Router) choose(r *http.Request, test bool) (g Group, strict, sticky bool) {
	if test {
		return testSide, true, false
	}
	if rt.opts.PinHeader != "" {
		if v := r.Header[rt.opts.PinHeader]; len(v) == 1 {
			if g, ok := rt.pinned(v[0]); ok {
				return g, true, false
			}
		}
	}
	if rt.opts.StickyCookie != "" {
		if c, err := r.Cookie(rt.opts.StickyCookie); err == nil {
			if g, err := ParseGroup(c.Value); err == nil && rt.split.weightOf(g) > 0 {
				return g, false, false
			}
		}
		return rt.split.next(), false, true
	}
	return rt.split.next(), false, false
}

// pinned reads a pin header value, "GROUP:SECRET"; ok is false unless the
// secret is the router's (compared in constant time) and GROUP a group.
func (rt *Router) pinned(v string) (g Group, ok bool) {
	name, secret, found := strings.Cut(v, ":")
	if !found || subtle.ConstantTimeCompare([]byte(secret), []byte(rt.opts.PinSecret)) != 1 {
		return 0, false
	}
	g, err := ParseGroup(name)
	return g, err == nil
}

// unavailable answers 503 when no target can take r; grp is the group it
// was bound for.
func (rt *Router) unavailable(w http.ResponseWriter, r *http.Request, grp *targetGroup, strict bool) {
	rt.unavailableCount.Add(1)
	msg := "canaryflow: no healthy target in blue or green"
	switch {
	case strict && grp.name == "":
		msg = "canaryflow: no target group on this listener"
	case strict:
		msg = fmt.Sprintf("canaryflow: no healthy target in group %s", grp.name)
	}
	rt.log.Warn("proxy request", "status", http.StatusServiceUnavailable, "method", r.Method, "path", r.URL.Path, "err", msg)
	writeError(w, http.StatusServiceUnavailable, msg)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	if status == StatusClientClosedRequest {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// isUpgrade reports whether r asks to switch protocols (WebSocket).
func isUpgrade(r *http.Request) bool {
	if r.ProtoMajor != 1 || len(r.Header["Upgrade"]) == 0 {
		return false
	}
	for _, v := range r.Header["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "upgrade") {
				return true
			}
		}
	}
	return false
}

// serveUpgrade relays a protocol switch with httputil.ReverseProxy, which
// hijacks both sides after the 101. The connection closes when the client
// goes, the target's drain ends or the router closes.
func (rt *Router) serveUpgrade(w http.ResponseWriter, r *http.Request, t *target) forwardResult {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(t.ctx, cancel)
	defer stop()
	res := forwardResult{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(t.url)
			pr.Out.Host = pr.In.Host
			pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
			pr.SetXForwarded()
			pr.Out.Header.Add("Via", "1.1 "+rt.viaName)
		},
		Transport: rt.upgradeTransport,
		ModifyResponse: func(resp *http.Response) error {
			res.status = resp.StatusCode
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			res.err = err
			switch {
			case r.Context().Err() != nil:
				res.status = StatusClientClosedRequest
			case t.ctx.Err() != nil || errors.Is(err, context.Canceled):
				res.status = http.StatusGatewayTimeout
			default:
				res.status = http.StatusBadGateway
				t.stats.upstreamErrors.Add(1)
				t.group.stats.upstreamErrors.Add(1)
			}
			if !res.sent {
				writeError(w, res.status, "canaryflow: upgrade to "+t.key+": "+http.StatusText(res.status))
			}
		},
		ErrorLog: rt.errorLog,
	}
	rp.ServeHTTP(w, r.WithContext(ctx))
	res.sent = true
	if res.status == 0 {
		res.status = http.StatusBadGateway
	}
	return res
}
