package router

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// errPoolClosed is returned when a target's drain has ended.
var errPoolClosed = errors.New("target connection pool closed")

// upConn is one keep-alive HTTP/1.1 connection to a target. It holds a
// read buffer (lent by the router's connBuffers) only from the first byte
// of a response to its end: an idle connection, or one waiting for its
// answer, holds none. The request is written through a buffer lent for
// the writing alone.
type upConn struct {
	nc       net.Conn
	rw       io.ReadWriter // nc, read and written with rawIO where it can be
	br       *bufio.Reader // nil but while a response is read
	idleFrom time.Time
	reused   bool
	deadline time.Time // the read deadline set on nc; zero for none
	peer     quietPeer // checks the idle socket; nil where rawIO is not used
	// resp and body are reused by every response parsed on the fast path.
	resp   http.Response
	header http.Header
	body   fixedBody
}

// quietPeer checks, without waiting and whatever the read deadline, that
// the other end of an idle connection has neither sent a byte nor closed.
// rawIO is one.
type quietPeer interface{ quiet() bool }

// connPool keeps a target's idle keep-alive connections and tracks every
// open one, so a drain can close them all.
type connPool struct {
	addr        string
	dialer      net.Dialer
	maxIdle     int
	idleTimeout time.Duration

	mu      sync.Mutex
	idle    []*upConn // most recently used last
	open    map[*upConn]struct{}
	noReuse bool // draining: connections close after their request
	closed  bool // drain ended: no new connections
}

func newConnPool(addr string, dialTimeout, idleTimeout time.Duration, maxIdle int) *connPool {
	return &connPool{
		addr:        addr,
		dialer:      net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
		maxIdle:     maxIdle,
		idleTimeout: idleTimeout,
		open:        map[*upConn]struct{}{},
	}
}

// get returns an idle connection, or dials a new one when there is none or
// fresh is set. A dial error means no byte reached the target.
//
// Every idle connection is checked before it is reused (see alive): one
// that holds bytes nobody asked for would hand a stale or forged answer to
// the next client, whoever that is.
func (p *connPool) get(ctx context.Context, fresh bool) (*upConn, error) {
	for !fresh {
		c := p.popIdle()
		if c == nil {
			break
		}
		if c.alive() {
			c.reused = true
			return c, nil
		}
		p.discard(c)
	}
	nc, err := p.dial(ctx)
	if err != nil {
		return nil, &dialError{err: err}
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	c := &upConn{nc: nc, rw: newRawIO(nc)}
	c.peer, _ = c.rw.(quietPeer)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = nc.Close()
		return nil, &dialError{err: errPoolClosed}
	}
	p.open[c] = struct{}{}
	p.mu.Unlock()
	return c, nil
}

// dial connects to the target on a goroutine of its own, and waits for it.
// The dialer's calls go deeper than all the rest of a request's: made on
// the request's goroutine, they would double that goroutine's stack, and
// the client connection would keep the larger stack while it is idle.
func (p *connPool) dial(ctx context.Context) (net.Conn, error) {
	type dialed struct {
		nc  net.Conn
		err error
	}
	done := make(chan dialed, 1)
	go func() {
		nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
		done <- dialed{nc, err}
	}()
	d := <-done
	return d.nc, d.err
}

// popIdle takes the most recently used idle connection, closing those idle
// past the idle timeout on the way.
func (p *connPool) popIdle() *upConn {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for n := len(p.idle); n > 0; n = len(p.idle) {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		if now.Sub(c.idleFrom) < p.idleTimeout {
			return c
		}
		delete(p.open, c)
		_ = c.nc.Close()
	}
	return nil
}

// alive reports whether c may carry a request: a peek at the socket finds
// neither bytes nor the end of the stream. Bytes that arrived while no
// request was out are an answer nobody asked for (a target answering twice,
// or one request it never read whole): the stream is out of step, and the
// next response read there would belong to no one. The end of the stream
// is a target that closed an idle keep-alive connection on its own
// schedule (Node.js after 5 s, gunicorn after 2 s); finding it here keeps
// a request, a POST above all, from being sent on it. It costs one system
// call and never waits.
func (c *upConn) alive() bool {
	if c.br != nil && c.br.Buffered() > 0 {
		return false
	}
	if c.peer != nil {
		return c.peer.quiet()
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	if !c.deadline.IsZero() {
		// A response deadline left from an earlier request would fail
		// the peek once it has passed.
		c.deadline = time.Time{}
		_ = c.nc.SetReadDeadline(c.deadline)
	}
	open := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, perr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = perr == syscall.EAGAIN
		return true // done, whatever the answer: never wait for readiness
	})
	return err == nil && open
}

// put returns a connection whose response was read completely.
func (p *connPool) put(c *upConn) {
	c.idleFrom = time.Now()
	p.mu.Lock()
	if p.noReuse || p.closed || len(p.idle) >= p.maxIdle {
		delete(p.open, c)
		p.mu.Unlock()
		_ = c.nc.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// discard closes a connection that cannot be reused.
func (p *connPool) discard(c *upConn) {
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
	_ = c.nc.Close()
}

// startDrain closes idle connections and stops keeping any.
func (p *connPool) startDrain() {
	p.mu.Lock()
	p.noReuse = true
	idle := p.idle
	p.idle = nil
	for _, c := range idle {
		delete(p.open, c)
	}
	p.mu.Unlock()
	for _, c := range idle {
		_ = c.nc.Close()
	}
}

// closeAll closes every connection, cutting in-flight requests.
func (p *connPool) closeAll() {
	p.mu.Lock()
	p.closed, p.noReuse = true, true
	conns := make([]*upConn, 0, len(p.open))
	for c := range p.open {
		conns = append(conns, c)
	}
	p.open = map[*upConn]struct{}{}
	p.idle = nil
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.nc.Close()
	}
}

// closeIdle closes idle connections past the idle timeout.
func (p *connPool) closeIdle() {
	now := time.Now()
	p.mu.Lock()
	keep := p.idle[:0]
	var stale []*upConn
	for _, c := range p.idle {
		if now.Sub(c.idleFrom) >= p.idleTimeout {
			stale = append(stale, c)
			delete(p.open, c)
		} else {
			keep = append(keep, c)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	p.mu.Unlock()
	for _, c := range stale {
		_ = c.nc.Close()
	}
}

// dialError marks a failure to connect: nothing was sent, so any request
// may be retried elsewhere.
type dialError struct{ err error }

func (e *dialError) Error() string { return "dial: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }
