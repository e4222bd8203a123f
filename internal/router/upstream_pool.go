package router

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// errPoolClosed is returned when a target's drain has ended.
var errPoolClosed = errors.New("target connection pool closed")

// upConn is one keep-alive HTTP/1.1 connection to a target.
type upConn struct {
	nc       net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	idleFrom time.Time
	reused   bool
	deadline time.Time // the read deadline set on nc; zero for none
	// resp and body are reused by every response parsed on the fast path.
	resp   http.Response
	header http.Header
	body   fixedBody
}

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
func (p *connPool) get(ctx context.Context, fresh bool) (*upConn, error) {
	if !fresh {
		now := time.Now()
		p.mu.Lock()
		for n := len(p.idle); n > 0; n = len(p.idle) {
			c := p.idle[n-1]
			p.idle = p.idle[:n-1]
			if now.Sub(c.idleFrom) < p.idleTimeout {
				p.mu.Unlock()
				c.reused = true
				return c, nil
			}
			delete(p.open, c)
			_ = c.nc.Close()
		}
		p.mu.Unlock()
	}
	nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, &dialError{err: err}
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	c := &upConn{nc: nc, br: bufio.NewReaderSize(nc, 8<<10), bw: bufio.NewWriterSize(nc, 8<<10)}
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
