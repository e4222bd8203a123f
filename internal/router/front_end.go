package router

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the client timeouts (Options.ClientHeaderTimeout and
// ClientIdleTimeout), the same on both paths: net/http's server serves with
// them too.
const (
	DefaultClientHeaderTimeout = 10 * time.Second
	DefaultClientIdleTimeout   = 2 * time.Minute
)

// frontEnd is the fast HTTP/1.1 front end of a plain-HTTP listener. It
// accepts the connections itself and serves simple requests (HTTP/1.1,
// origin-form target, no body or a Content-Length body, no upgrade or
// Expect) with the router's handler, without net/http's per-request
// server machinery. The first request that is anything else, including
// every malformed one, hands its connection, with the bytes already read,
// to a net/http server, which serves it from then on (or answers 400). To
// that server the front end is a net.Listener: Accept returns the
// connections handed over.
//
// Requests are parsed by net/http's own parser (http.ReadRequest), run on a
// complete head that was first checked to be strictly framed, so the two
// paths cannot disagree on where a request ends.
type frontEnd struct {
	rt            *Router
	ln            net.Listener
	handler       http.Handler
	headerTimeout time.Duration
	bodyTimeout   time.Duration // zero for none
	idleTimeout   time.Duration

	// ctx is cancelled when shutdown gives up waiting: requests still in
	// flight are cut.
	ctx    context.Context
	cancel context.CancelFunc

	fallback  chan net.Conn
	closed    chan struct{}
	accepting chan struct{} // closed when acceptLoop has returned
	closeOnce sync.Once
	acceptErr error // set before closed is closed

	shutting atomic.Bool
	// open counts the client connections; above parkAbove (when
	// positive) idle ones are parked at once (see parker); negative parks
	// none.
	open      atomic.Int64
	parkAbove atomic.Int64
	// parkAfter is how long a connection may be idle before it is parked
	// whatever the count.
	parkAfter time.Duration
	parkMu    sync.Mutex
	park      atomic.Pointer[parker]

	mu    sync.Mutex
	conns map[*frontConn]struct{}
	wg    sync.WaitGroup // the accept loop and every connection's reader
}

// newFrontEnd starts accepting on ln; the caller serves the returned
// listener with a net/http server running h, and stops it with shutdown.
// Its timeouts are the router's client timeouts.
func (rt *Router) newFrontEnd(ln net.Listener, h http.Handler) *frontEnd {
	fe := &frontEnd{
		rt:            rt,
		ln:            ln,
		handler:       h,
		headerTimeout: rt.opts.ClientHeaderTimeout,
		bodyTimeout:   rt.opts.ClientBodyTimeout,
		idleTimeout:   rt.opts.ClientIdleTimeout,
		fallback:      make(chan net.Conn),
		closed:        make(chan struct{}),
		accepting:     make(chan struct{}),
		conns:         map[*frontConn]struct{}{},
		parkAfter:     rt.opts.parkAfter,
	}
	fe.parkAbove.Store(int64(rt.opts.ParkIdleAbove))
	fe.ctx, fe.cancel = context.WithCancel(context.Background())
	fe.wg.Add(1)
	go fe.acceptLoop()
	go fe.watchdog()
	return fe
}

// parkAfter is how long a keep-alive connection waits for its next
// request on its own goroutine before it is parked (see parker) however few
// connections are open: long enough that a busy connection is never
// parked this way, so it costs nothing per request.
const parkAfter = time.Second

// After releaseAfterParks parkings, the watchdog gives the memory they
// freed back to the system, at most once every releaseEvery: 2,000 idle
// connections held 10 KB each before, 6 KB after.
const (
	releaseAfterParks = 512
	releaseEvery      = 30 * time.Second
)

// watchTick is how often the watchdog looks for long requests; a client
// that leaves during a request is noticed within about two ticks.
const watchTick = 50 * time.Millisecond

// watchdog looks at every request that was already in flight at the
// previous tick and cancels it when its client has left (clientLeft). It
// ends with the front end.
func (fe *frontEnd) watchdog() {
	tick := time.NewTicker(watchTick)
	defer tick.Stop()
	var slow, idle []*frontConn
	idleTicks := max(1, int(fe.parkAfter/watchTick))
	// The parker's count of parkings at the last release and at the last
	// tick, and when the last release was.
	var released, lastParks int64
	var releasedAt time.Time
	for {
		select {
		case <-tick.C:
		case <-fe.ctx.Done():
			return
		}
		fe.mu.Lock()
		for c := range fe.conns {
			seq := c.seq.Load()
			state := c.state.Load()
			if seq == c.watchSeen && state == connBusy {
				slow = append(slow, c)
			}
			// Idle since the last tick, after an answer, and not parked.
			if seq == c.watchSeen && seq > 0 && state == connIdle && !c.parked.Load() && !c.parkSoon.Load() {
				c.idleTicks++
				if c.idleTicks == idleTicks {
					idle = append(idle, c)
				}
			} else {
				c.idleTicks = 0
			}
			c.watchSeen = seq
		}
		fe.mu.Unlock()
		now := time.Now()
		if p := fe.park.Load(); p != nil {
			p.expire(now)
			// Stacks freed by parking stay with the runtime, which gives
			// memory back to the system slowly: after many parkings, once
			// a tick passes with none (a burst is over), give it back at
			// once (a forced collection, at most every releaseEvery).
			n := p.parks.Load()
			if n-released >= int64(fe.rt.opts.releaseAfterParks) && n == lastParks && now.Sub(releasedAt) >= releaseEvery {
				released, releasedAt = n, now
				go fe.rt.opts.releaseMemory()
			}
			lastParks = n
		}
		fe.rt.bufs.trim(now)
		if fe.parkAbove.Load() >= 0 {
			for _, c := range idle {
				c.nudge(c.watchSeen)
			}
		}
		clear(idle)
		idle = idle[:0]
		// The system calls are made without the lock, which accepting
		// and closing connections take.
		for _, c := range slow {
			if c.seq.Load() == c.watchSeen && c.state.Load() == connBusy && clientLeft(c.nc) {
				c.cancel()
			}
		}
		clear(slow)
		slow = slow[:0]
	}
}

func (fe *frontEnd) acceptLoop() {
	defer fe.wg.Done()
	defer close(fe.accepting)
	var backoff time.Duration
	for {
		nc, err := fe.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: wait, as
				// net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
					continue
				case <-fe.closed:
					return
				}
			}
			fe.closeWith(err)
			return
		}
		backoff = 0
		// A connection accepted as shutdown begins is still served: its
		// client connected while the listener was open (shutdown waits
		// for this loop to end before it counts the connections).
		c := newFrontConn(fe, nc)
		fe.mu.Lock()
		fe.conns[c] = struct{}{}
		fe.wg.Add(1)
		fe.mu.Unlock()
		fe.open.Add(1)
		go c.serve()
	}
}

func (fe *frontEnd) forget(c *frontConn) {
	fe.mu.Lock()
	delete(fe.conns, c)
	fe.mu.Unlock()
	fe.open.Add(-1)
	fe.wg.Done()
}

// parkerIfBusy returns the parker when idle connections are to be parked
// at once: more than parkAbove are open.
func (fe *frontEnd) parkerIfBusy() *parker {
	if above := fe.parkAbove.Load(); above <= 0 || fe.open.Load() <= above {
		return nil
	}
	return fe.parker()
}

// parker returns the parker, made the first time; nil when nothing is to
// be parked (shutting down, or the parker could not be made).
func (fe *frontEnd) parker() *parker {
	if fe.parkAbove.Load() < 0 || fe.shutting.Load() {
		return nil
	}
	if p := fe.park.Load(); p != nil {
		return p
	}
	fe.parkMu.Lock()
	defer fe.parkMu.Unlock()
	if p := fe.park.Load(); p != nil || fe.parkAbove.Load() < 0 {
		return p
	}
	p, err := newParker()
	if err != nil {
		fe.rt.opts.Logger.Warn("idle connections keep their goroutines", "err", err)
		fe.parkAbove.Store(-1)
		return nil
	}
	fe.park.Store(p)
	return p
}

// wakeParked resumes every parked connection; with stop, none is parked
// again.
func (fe *frontEnd) wakeParked(stop bool) {
	fe.parkMu.Lock()
	if stop {
		fe.parkAbove.Store(-1)
	}
	fe.parkMu.Unlock()
	if p := fe.park.Load(); p != nil {
		p.wakeAll(stop)
	}
}

// Accept returns the next connection handed over to net/http.
func (fe *frontEnd) Accept() (net.Conn, error) {
	select {
	case c := <-fe.fallback:
		return c, nil
	case <-fe.closed:
		if fe.acceptErr != nil {
			return nil, fe.acceptErr
		}
		return nil, net.ErrClosed
	}
}

// Close stops accepting connections; it leaves open ones alone (shutdown
// ends them).
func (fe *frontEnd) Close() error {
	fe.closeWith(nil)
	return nil
}

func (fe *frontEnd) closeWith(err error) {
	fe.closeOnce.Do(func() {
		fe.acceptErr = err
		close(fe.closed)
		_ = fe.ln.Close()
	})
}

// Addr returns the listener's address.
func (fe *frontEnd) Addr() net.Addr { return fe.ln.Addr() }

// shutdown stops accepting, closes idle connections, lets requests in
// flight finish (their answers say Connection: close) until ctx is done,
// then cuts the rest.
func (fe *frontEnd) shutdown(ctx context.Context) {
	fe.mu.Lock()
	fe.shutting.Store(true)
	fe.mu.Unlock()
	_ = fe.Close()
	select {
	case <-fe.accepting:
	case <-ctx.Done():
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		fe.mu.Lock()
		n := len(fe.conns)
		for c := range fe.conns {
			if !c.busy() && c.answered.Load() {
				// Wakes a reader waiting for the next request; it
				// sees shutting and closes. A connection yet to send
				// its first request keeps its head timeout for it.
				_ = c.nc.SetReadDeadline(time.Unix(1, 0))
			}
		}
		fe.mu.Unlock()
		fe.wakeParked(false) // each sees shutting and closes
		if n == 0 {
			break
		}
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		fe.cancel()
		fe.mu.Lock()
		for c := range fe.conns {
			_ = c.nc.Close()
		}
		fe.mu.Unlock()
		break
	}
	fe.wakeParked(true)
	fe.wg.Wait()
	fe.cancel()
}
