package router

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// frontConn is one client connection on the fast path. One goroutine
// (serve) reads a request, runs the router's handler and writes the answer,
// then reads the next: nothing is handed between goroutines on the way.
//
// Its read and write buffers are lent by the router (connBuffers) and held
// only while there is something in them: between requests the connection
// holds neither, and on Linux it waits for the next request's first bytes
// before it takes a buffer to read them into. What an idle connection
// costs is this struct, its socket and its goroutine's stack.
//
// While the handler runs nobody reads the socket, so a client that goes
// away would go unnoticed until the answer is written. The front end's
// watchdog therefore looks, without reading, at every connection whose
// request outlasted a tick (clientLeft) and, when the client has closed,
// cancels the request, so the abandonment is logged as 499 and the target
// sees its connection close. Requests shorter than a tick, nearly all of
// them, cost nothing there.
type frontConn struct {
	fe     *frontEnd
	nc     net.Conn
	rw     io.ReadWriter // nc, read and written with rawIO where it can be
	br     *bufio.Reader // lent while bytes are buffered; nil otherwise
	w      frontWriter
	remote string

	// ctx is the context of every request on the connection; cancel ends
	// it when the client goes away or the server forces connections shut.
	ctx    context.Context
	cancel context.CancelFunc

	// state says who may read br; see the conn* constants.
	state atomic.Int32
	// seq counts requests; the watchdog compares it between ticks.
	seq       atomic.Uint64
	watchSeen uint64 // the seq the watchdog saw busy at its last tick

	// dlMu guards the read deadline, which shutdown moves too.
	dlMu     sync.Mutex
	deadline time.Time // the read deadline set on nc
	// finished is when the last answer went out, for the idle timeout.
	finished time.Time

	// The request body, read from br.
	body frontBody

	// The request being served. parseRequestHead fills req, header, url
	// and strs afresh for each request (nothing keeps them once it is
	// answered); blank is a request with nothing but the connection's
	// context, to start from.
	req    http.Request
	blank  http.Request
	header http.Header
	url    url.URL
	strs   []string

	// parkSoon is the watchdog's nudge: it found the connection idle for
	// the front end's parkAfter and moved the read deadline to the past
	// to wake its goroutine, which parks it (see nudged). parked is set
	// while the connection waits in the parker; idleTicks counts the
	// watchdog's ticks that found it idle (the watchdog's alone).
	parkSoon  atomic.Bool
	parked    atomic.Bool
	idleTicks int

	// inEpoll is set once the socket is in the front end's parker's epoll
	// set (it stays there, disarmed, between parkings); parkedFD is the
	// socket there.
	inEpoll  bool
	parkedFD int32

	// answered is set once the connection has had an answer. A shutdown
	// closes an idle connection that has one at once (its client retries
	// on another), but lets a new one send and get its first request: its
	// client connected while the listener was open and owes nothing.
	answered atomic.Bool
}

// Connection states: who reads br.
const (
	connIdle int32 = iota // serve reads (or parses) the next request
	connBusy              // the handler runs; no one reads
	connBody              // the handler runs and reads the request body from br
)

func newFrontConn(fe *frontEnd, nc net.Conn) *frontConn {
	c := &frontConn{
		fe:       fe,
		nc:       nc,
		rw:       newRawIO(nc),
		remote:   nc.RemoteAddr().String(),
		finished: time.Now(),
	}
	c.w = frontWriter{bufs: &fe.rt.bufs, dst: c.rw, header: http.Header{}, shutting: fe.shutting.Load}
	c.ctx, c.cancel = context.WithCancel(fe.ctx)
	c.initParse()
	return c
}

// initParse readies what parseHead reuses; c.ctx must be set.
func (c *frontConn) initParse() {
	c.blank = *(&http.Request{}).WithContext(c.ctx)
	c.header = make(http.Header, 8)
	c.strs = make([]string, 16)
}

// serve runs until the connection closes, is handed to net/http or is
// parked; a parked connection carries on in run, on a goroutine the parker
// starts.
func (c *frontConn) serve() {
	// A new connection owes its first request head within the head
	// timeout: one that sends nothing is not kept for an idle timeout.
	c.setDeadline(time.Now().Add(c.fe.headerTimeout))
	c.run()
}

// run serves requests until the connection closes, is handed to net/http,
// or is parked to wait for its next request without a goroutine.
func (c *frontConn) run() {
	for !c.fe.shutting.Load() || !c.answered.Load() {
		req, fast, err := c.readRequest()
		if err == errParked {
			return // the parker has it now
		}
		if err != nil || c.fe.shutting.Load() && c.answered.Load() {
			break
		}
		if !fast {
			c.unpark()
			c.handOff()
			c.cancel()
			c.fe.forget(c)
			return
		}
		keep := c.serveRequest(req)
		c.answered.Store(true)
		if !keep {
			break
		}
	}
	c.unpark()
	_ = c.nc.Close()
	c.releaseReader()
	c.cancel()
	c.fe.forget(c)
}

// readRequest waits for the next request head. fast is false when the
// request must go to net/http.
func (c *frontConn) readRequest() (req *http.Request, fast bool, err error) {
	for {
		if n := c.buffered(); n > 0 {
			buf, _ := c.br.Peek(n)
			switch end := scanHead(buf); {
			case end < 0:
				return nil, false, nil
			case end > 0:
				req, ok := c.parseHead(buf[:end])
				if !ok {
					return nil, false, nil
				}
				_, _ = c.br.Discard(end)
				return req, true, nil
			case n == connBufSize:
				return nil, false, nil // a long head: net/http reads the rest
			}
			// Part of a head: the rest must come within the head
			// timeout of the first piece (the deadline only moves
			// closer here, so later pieces do not extend it).
			if by := time.Now().Add(c.fe.headerTimeout); c.deadline.IsZero() || c.deadline.After(by) {
				c.setDeadline(by)
			}
		} else {
			// Between requests: the buffer goes back, and the idle
			// timeout runs. (Before the first request, the deadline
			// serve set stands.)
			c.releaseReader()
			if c.seq.Load() > 0 {
				if err := c.armIdle(); err != nil {
					return nil, false, err
				}
				// Many connections open: wait without a goroutine;
				// else wait on this one until the watchdog finds the
				// connection idle for parkAfter, and park it then.
				err := c.parkOrFill(false)
				if err != nil && c.nudged(err) {
					err = c.parkOrFill(true)
				}
				if err != nil {
					return nil, false, err
				}
				continue
			}
		}
		if err := c.fill(); err != nil {
			if c.nudged(err) {
				continue
			}
			return nil, false, err
		}
	}
}

func (c *frontConn) buffered() int {
	if c.br == nil {
		return 0
	}
	return c.br.Buffered()
}

// fill reads more of the request: into a newly lent buffer when none is
// held (on Linux, taken only once the bytes are there), else into the one
// held, after what it buffers.
func (c *frontConn) fill() error {
	if c.br == nil {
		var err error
		c.br, err = c.fe.rt.bufs.fill(c.rw)
		return err
	}
	_, err := c.br.Peek(c.br.Buffered() + 1)
	return err
}

// releaseReader gives the read buffer back; the caller has consumed what it
// held, or the connection is done.
func (c *frontConn) releaseReader() {
	if c.br != nil {
		c.fe.rt.bufs.putReader(c.br)
		c.br = nil
	}
}

// armIdle makes sure the read deadline leaves the connection the idle
// timeout after its last answer, give or take. The deadline is moved only
// when it falls short or is past half an idle timeout later (a body's
// deadline, or none), and then to half an idle timeout later, so an idle
// connection closes between one and one and a half idle timeouts after its
// last answer and most requests set no deadline at all.
func (c *frontConn) armIdle() error {
	want := c.finished.Add(c.fe.idleTimeout)
	if !want.After(time.Now()) {
		return os.ErrDeadlineExceeded
	}
	c.dlMu.Lock()
	if c.deadline.Before(want) || c.deadline.After(want.Add(c.fe.idleTimeout/2)) {
		c.setDeadlineLocked(want.Add(c.fe.idleTimeout / 2))
	}
	c.dlMu.Unlock()
	return nil
}

// nudge wakes the connection's goroutine to park it, if the connection is
// still idle after request seq (the watchdog's call).
func (c *frontConn) nudge(seq uint64) {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if c.seq.Load() == seq && c.state.Load() == connIdle && !c.parked.Load() && !c.fe.shutting.Load() {
		c.parkSoon.Store(true)
		_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

// nudged reports whether err, a read's, is the watchdog's nudge rather than
// the connection's own deadline passing; the deadline is then set back.
func (c *frontConn) nudged(err error) bool {
	if !isTimeout(err) || !c.parkSoon.Swap(false) {
		return false
	}
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if !c.deadline.IsZero() && !c.deadline.After(time.Now()) {
		return false // its own deadline has passed too
	}
	_ = c.nc.SetReadDeadline(c.deadline)
	return true
}

func (c *frontConn) setDeadline(t time.Time) {
	c.dlMu.Lock()
	c.setDeadlineLocked(t)
	c.dlMu.Unlock()
}

func (c *frontConn) setDeadlineLocked(t time.Time) {
	c.deadline = t
	_ = c.nc.SetReadDeadline(t)
}

// serveRequest answers req and reports whether the connection may carry
// another request.
func (c *frontConn) serveRequest(req *http.Request) bool {
	c.seq.Add(1) // from here on the watchdog does not nudge for the wait before
	if c.parkSoon.Swap(false) {
		// A nudge came as the request did: the read deadline it moved
		// to the past is set back, so no later read takes it for the
		// connection's own.
		c.dlMu.Lock()
		_ = c.nc.SetReadDeadline(c.deadline)
		c.dlMu.Unlock()
	}
	state := connBusy
	switch {
	case req.ContentLength == 0:
		c.body = frontBody{}
		req.Body = http.NoBody
		if c.br.Buffered() == 0 {
			c.releaseReader() // nothing pipelined: none held while the request is served
		}
	case req.ContentLength <= int64(c.br.Buffered()):
		// The whole body is buffered: reading it never waits.
		c.body = frontBody{br: c.br, remaining: req.ContentLength}
		req.Body = &c.body
	default:
		// The body streams from br: not watched until it is all read.
		// It is timed on its own; the deadline left by the head, or by
		// the wait for it, no longer applies.
		var by time.Time
		if c.fe.bodyTimeout > 0 {
			by = time.Now().Add(c.fe.bodyTimeout)
		}
		c.setDeadline(by)
		state = connBody
		c.body = frontBody{br: c.br, remaining: req.ContentLength, state: &c.state}
		req.Body = &c.body
	}
	req.RemoteAddr = c.remote
	c.state.Store(state)
	keep := c.handle(req)
	c.finished = time.Now()
	c.state.Store(connIdle)
	return keep
}

// clientLeft reports whether the client has closed or reset the
// connection: a receive that peeks, without waiting, finds the end of the
// stream or an error. Bytes waiting (a pipelined request) or nothing at all
// mean the client is still there. It neither reads nor moves a deadline, so
// it may run while the handler writes.
func clientLeft(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	left := false
	err = rc.Control(func(fd uintptr) {
		var b [1]byte
		for {
			n, _, perr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if perr == syscall.EINTR {
				continue
			}
			left = perr == nil && n == 0 || perr != nil && perr != syscall.EAGAIN
			return
		}
	})
	return err == nil && left
}

// busy reports whether a request is being answered, for shutdown.
func (c *frontConn) busy() bool {
	return c.state.Load() != connIdle
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// handle answers one request and reports whether the connection stays open;
// when it does not, handle closes it.
func (c *frontConn) handle(req *http.Request) (keep bool) {
	w := &c.w
	w.reset(req)
	defer func() {
		w.release()
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.fe.rt.errorLog.Printf("http: panic serving %s: %v\n%s", c.remote, p, buf)
			}
			_ = c.nc.Close() // cut the answer: the client sees it incomplete
			keep = false
		}
	}()
	c.fe.handler.ServeHTTP(w, req)
	if err := w.finish(); err != nil {
		_ = c.nc.Close()
		return false
	}
	if w.closeAfter || c.body.remaining > 0 {
		c.closeGently()
		return false
	}
	return true
}

// closeGently closes after the answer without resetting the connection, so
// the client reads the whole answer even if it is still sending.
func (c *frontConn) closeGently() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && c.body.remaining > 0 {
		_ = cw.CloseWrite()
		time.Sleep(100 * time.Millisecond)
	}
	_ = c.nc.Close()
}

// handOff gives the connection, with the bytes already read, to net/http
// for the rest of its life.
func (c *frontConn) handOff() {
	_ = c.nc.SetDeadline(time.Time{})
	rc := &replayConn{Conn: c.nc}
	if n := c.buffered(); n > 0 {
		buf, _ := c.br.Peek(n)
		rc.pending = bytes.Clone(buf)
	}
	c.releaseReader()
	select {
	case c.fe.fallback <- rc:
	case <-c.fe.closed:
		_ = c.nc.Close()
	}
}

// frontBody is a fast-path request body with a known length.
type frontBody struct {
	br        *bufio.Reader // the connection's reader
	remaining int64
	state     *atomic.Int32 // the connection's, moved on from connBody when the last byte is read from br
}

func (b *frontBody) Read(p []byte) (int, error) {
	if b.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.br.Read(p)
	b.remaining -= int64(n)
	if b.remaining == 0 {
		if b.state != nil {
			b.state.CompareAndSwap(connBody, connBusy)
		}
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *frontBody) Close() error { return nil }

// replayConn is a connection handed to net/http: reads drain what the fast
// path had read before reaching the socket.
type replayConn struct {
	net.Conn
	pending []byte
}

func (r *replayConn) Read(p []byte) (int, error) {
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	return r.Conn.Read(p)
}

// CloseWrite lets net/http half-close the connection as it does a TCP one.
func (r *replayConn) CloseWrite() error {
	if cw, ok := r.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
