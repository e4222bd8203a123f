// Package router is canaryflow's data plane: a weighted blue/green HTTP
// reverse proxy with ALB semantics. A production listener splits requests
// between the blue and green target groups by per-mille weights (nginx's
// smooth weighted round-robin, so the split is exact over any window), a test
// listener always routes to green, active health checks keep traffic on
// healthy targets only, and deregistered targets drain before they go.
//
// When the group the weights pick has no healthy target, the request goes
// to the other group and Metrics counts it as Redirected; only when neither
// group has a healthy target does the listener answer 503. Requests pinned
// to a group (the pin header, the test listener) never move: they get 503
// when that group has no healthy target, so a test never passes against the
// wrong version.
//
// The common path writes requests straight onto pooled keep-alive HTTP/1.1
// connections to the targets; protocol upgrades (WebSocket) go through
// httputil.ReverseProxy. Inbound, on plain HTTP, a small front end of its
// own serves simple HTTP/1.1 requests and hands each connection that sends
// anything else (upgrades, chunked bodies, HTTP/1.0, malformed requests) to
// net/http, which also serves HTTPS and HTTP/2 when TLS is configured.
//
// The deployment controller drives a Router through its Go API (SetWeights,
// Register, Deregister, Snapshot, Metrics); `canaryflow proxy` wraps the same
// API with an admin HTTP endpoint.
package router

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by calls on a closed Router.
var ErrClosed = errors.New("router closed")

// Router forwards requests to the blue and green target groups. Its methods
// are safe for concurrent use.
type Router struct {
	opts     Options
	log      *slog.Logger
	errorLog *log.Logger
	clock    Clock

	split        splitter
	groups       map[string]*targetGroup // by name; writers hold mu
	bound        atomic.Pointer[binding] // what each listener routes to
	none         *targetGroup            // an empty group, bound where nothing is
	successCodes []codeRange

	unavailableCount atomic.Uint64
	stickyCookies    [2]string // Set-Cookie values per group

	viaName  string    // this router's pseudonym in Via (loop.go)
	viaLine  string    // the Via header line it adds to forwarded requests
	self     selfAddrs // its own listen addresses, refused as targets
	pinStrip string    // the pin header, removed from every forwarded request

	buffers          sync.Pool
	bufs             connBuffers // connections' read and write buffers
	healthClient     *http.Client
	upgradeTransport *http.Transport

	ctx    context.Context // cancelled by Close; parent of every goroutine
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // serialises changes to groups, targets and bindings, and markDown
}

// New validates opts and returns a router with the initial targets
// registered. Call Close to stop its health checks and drains.
func New(opts Options) (*Router, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	codes, _ := parseSuccessCodes(opts.HealthCheck.SuccessCodes)
	rt := &Router{
		opts:         opts,
		log:          opts.Logger,
		errorLog:     slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
		clock:        opts.Clock,
		groups:       map[string]*targetGroup{},
		none:         newTargetGroup(""),
		successCodes: codes,
		buffers:      sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }},
		viaName:      viaName(),
		pinStrip:     opts.PinHeader,
	}
	rt.viaLine = "Via: 1.1 " + rt.viaName + "\r\n"
	if rt.pinStrip == "" {
		rt.pinStrip = DefaultPinHeader
	}
	rt.bound.Store(&binding{side: [3]*targetGroup{rt.none, rt.none, rt.none}})
	rt.split.set(GreenWeights(opts.GreenWeight))
	dialer := &net.Dialer{Timeout: opts.DialTimeout, KeepAlive: 30 * time.Second}
	rt.healthClient = &http.Client{
		Transport: &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 2, IdleConnTimeout: opts.IdleConnTimeout},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	rt.upgradeTransport = &http.Transport{DialContext: dialer.DialContext, MaxIdleConns: 16, IdleConnTimeout: opts.IdleConnTimeout}
	if opts.StickyCookie != "" {
		for _, g := range []Group{Blue, Green} {
			rt.stickyCookies[g] = (&http.Cookie{Name: opts.StickyCookie, Value: g.String(), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}).String()
		}
	}
	rt.ctx, rt.cancel = context.WithCancel(context.Background())
	var err error
	if opts.Restore != nil {
		err = rt.restore(*opts.Restore)
	} else {
		err = rt.bindBlueGreen(opts.Blue, opts.Green)
	}
	if err != nil {
		rt.Close()
		return nil, err
	}
	rt.wg.Add(1)
	go rt.sweepIdle()
	return rt, nil
}

// Close stops health checks, ends drains at once and closes upstream
// connections. It does not stop servers started by Serve; cancel their ctx.
func (rt *Router) Close() error {
	rt.cancel()
	rt.wg.Wait()
	for _, g := range rt.allGroups() {
		for _, t := range g.targets() {
			t.cancel()
			t.pool.closeAll()
		}
	}
	rt.healthClient.CloseIdleConnections()
	rt.upgradeTransport.CloseIdleConnections()
	return nil
}

// sweepIdle closes upstream connections idle past IdleConnTimeout. It uses
// the system clock: it only frees resources and no behaviour depends on it.
func (rt *Router) sweepIdle() {
	defer rt.wg.Done()
	tick := time.NewTicker(rt.opts.IdleConnTimeout)
	defer tick.Stop()
	for {
		select {
		case <-rt.ctx.Done():
			return
		case <-tick.C:
			for _, g := range rt.allGroups() {
				for _, t := range g.targets() {
					t.pool.closeIdle()
				}
			}
		}
	}
}

// SetWeights changes the production split atomically: the next request
// uses the new weights and no request in flight is affected.
func (rt *Router) SetWeights(w Weights) error {
	if err := w.Validate(); err != nil {
		return fmt.Errorf("set weights: %w", err)
	}
	old := rt.split.weights()
	rt.split.set(w)
	if old != w {
		rt.log.Info("weights changed", "from", old.String(), "to", w.String())
		rt.changed()
	}
	return nil
}

// SetGreenWeight sends green per-mille of production traffic to green and
// the rest to blue.
func (rt *Router) SetGreenWeight(green int) error { return rt.SetWeights(GreenWeights(green)) }

// Weights returns the current production split.
func (rt *Router) Weights() Weights { return rt.split.weights() }

// Serve answers on the production listener and, if test is not nil, on the
// test listener, until ctx is done; then it shuts the servers down, giving
// in-flight requests up to the deregistration delay. With TLS configured it
// serves HTTPS with HTTP/2.
func (rt *Router) Serve(ctx context.Context, production, test net.Listener) error {
	type served struct {
		srv *http.Server
		ln  net.Listener
		fe  *frontEnd // nil when net/http serves every connection
	}
	var all []served
	for l, ln := range []net.Listener{production, test} {
		if ln == nil {
			continue
		}
		rt.self.add(ln.Addr().String())
		s := served{srv: &http.Server{
			Handler:           rt.Handler(Listener(l)),
			ReadHeaderTimeout: rt.opts.ClientHeaderTimeout,
			ReadTimeout:       readTimeout(rt.opts),
			IdleTimeout:       rt.opts.ClientIdleTimeout,
			ErrorLog:          rt.errorLog,
		}, ln: ln}
		if rt.opts.TLSCertFile == "" && !rt.opts.NetHTTPOnly {
			s.fe = rt.newFrontEnd(ln, s.srv.Handler)
			s.ln = s.fe
		}
		all = append(all, s)
	}
	if len(all) == 0 {
		return errors.New("serve: no listener")
	}
	errc := make(chan error, len(all))
	for _, s := range all {
		go func() {
			var err error
			if rt.opts.TLSCertFile != "" {
				err = s.srv.ServeTLS(s.ln, rt.opts.TLSCertFile, rt.opts.TLSKeyFile)
			} else {
				err = s.srv.Serve(s.ln)
			}
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			if err != nil {
				err = fmt.Errorf("serve %s: %w", s.ln.Addr(), err)
			}
			errc <- err
		}()
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rt.opts.DeregistrationDelay)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range all {
		if s.fe != nil {
			wg.Go(func() { s.fe.shutdown(sctx) })
		}
		_ = s.srv.Shutdown(sctx)
	}
	wg.Wait()
	for range len(all) - boolInt(first != nil) {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// readTimeout is net/http's nearest to the front end's head and body
// timeouts: its ReadTimeout bounds head and body together. Zero (none)
// without a body timeout.
func readTimeout(o Options) time.Duration {
	if o.ClientBodyTimeout == 0 {
		return 0
	}
	return o.ClientHeaderTimeout + o.ClientBodyTimeout
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// targetURL returns the URL form of a canonical target key.
func targetURL(key string) *url.URL {
	u, _ := url.Parse(key)
	return u
}
