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
	"time"
)

// frontBufSize is the read buffer of a fast-path connection; a request head
// longer than that goes to net/http.
const frontBufSize = 8 << 10

// frontConn is one client connection on the fast path. One goroutine
// (serve) reads a request, runs the router's handler and writes the answer,
// then reads the next: nothing is handed between goroutines on the way.
//
// While the handler runs nobody reads the socket, so a client that goes
// away would go unnoticed until the answer is written. The front end's
// watchdog therefore starts a watcher for any request still in flight after
// a tick: the watcher reads on (that read is also the wait for the next
// request) and, when the client closes, cancels the request, so the
// abandonment is logged as 499 and the target sees its connection close.
// Requests shorter than a tick, nearly all of them, cost no goroutine.
type frontConn struct {
	fe     *frontEnd
	nc     net.Conn
	br     *bufio.Reader
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
	watchSeen uint64     // the seq the watchdog saw busy at its last tick
	watchDone chan error // the watcher's read: nil when bytes arrived

	// dlMu guards the read deadline, which the watcher moves while the
	// handler runs.
	dlMu     sync.Mutex
	deadline time.Time // the read deadline set on nc
	// finished is when the last answer went out, for the idle timeout.
	finished time.Time

	// Request bodies: small ones already read are copied to bodyBuf; larger
	// ones stream from br.
	body    frontBody
	bodyBuf []byte

	// The request being served. parseRequestHead fills req, header, url
	// and strs afresh for each request (nothing keeps them once it is
	// answered); blank is a request with nothing but the connection's
	// context, to start from.
	req    http.Request
	blank  http.Request
	header http.Header
	url    url.URL
	strs   []string

	// headSrc and headBuf feed a complete head to http.ReadRequest without
	// consuming br, so a head that is not for the fast path can be handed
	// to net/http untouched.
	headSrc bytes.Reader
	headBuf *bufio.Reader

	// answered is set once the connection has had an answer. A shutdown
	// closes an idle connection that has one at once (its client retries
	// on another), but lets a new one send and get its first request: its
	// client connected while the listener was open and owes nothing.
	answered atomic.Bool
}

// Connection states: who reads br.
const (
	connIdle     int32 = iota // serve reads (or parses) the next request
	connBusy                  // the handler runs; no one reads
	connBody                  // the handler runs and reads the request body from br
	connWatched               // the handler runs; the watcher reads
	connWatching              // the answer is out; the watcher still reads
)

func newFrontConn(fe *frontEnd, nc net.Conn) *frontConn {
	rw := newRawIO(nc)
	c := &frontConn{
		fe:        fe,
		nc:        nc,
		br:        bufio.NewReaderSize(rw, frontBufSize),
		remote:    nc.RemoteAddr().String(),
		watchDone: make(chan error, 1),
		finished:  time.Now(),
	}
	c.w = frontWriter{bw: bufio.NewWriterSize(rw, frontBufSize), header: http.Header{}, shutting: fe.shutting.Load}
	c.ctx, c.cancel = context.WithCancel(fe.ctx)
	c.initParse()
	return c
}

// initParse readies what parseHead reuses; c.ctx must be set.
func (c *frontConn) initParse() {
	c.blank = *(&http.Request{}).WithContext(c.ctx)
	c.header = make(http.Header, 8)
	c.strs = make([]string, 16)
	c.headBuf = bufio.NewReaderSize(nil, frontBufSize)
}

// serve runs until the connection closes or is handed to net/http.
func (c *frontConn) serve() {
	defer c.fe.forget(c)
	defer c.cancel()
	// A new connection owes its first request head within the head
	// timeout: one that sends nothing is not kept for an idle timeout.
	c.setDeadline(time.Now().Add(c.fe.headerTimeout))
	for !c.fe.shutting.Load() || !c.answered.Load() {
		req, fast, err := c.readRequest()
		if err != nil || c.fe.shutting.Load() && c.answered.Load() {
			break
		}
		if !fast {
			c.handOff()
			return
		}
		keep := c.serveRequest(req)
		c.answered.Store(true)
		if !keep {
			break
		}
	}
	_ = c.nc.Close()
}

// readRequest waits for the next request head. fast is false when the
// request must go to net/http.
func (c *frontConn) readRequest() (req *http.Request, fast bool, err error) {
	for {
		if n := c.br.Buffered(); n > 0 {
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
			case n == frontBufSize:
				return nil, false, nil // a long head: net/http reads the rest
			}
			// Part of a head: the rest must come within the head
			// timeout of the first piece (the deadline only moves
			// closer here, so later pieces do not extend it).
			if by := time.Now().Add(c.fe.headerTimeout); c.deadline.IsZero() || c.deadline.After(by) {
				c.setDeadline(by)
			}
		} else if c.seq.Load() > 0 {
			// Between requests: the idle timeout. (Before the first,
			// the deadline serve set stands.)
			if err := c.armIdle(); err != nil {
				return nil, false, err
			}
		}
		if _, err := c.br.Peek(c.br.Buffered() + 1); err != nil {
			return nil, false, err
		}
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
	state := connBusy
	switch {
	case req.ContentLength == 0:
		c.body = frontBody{}
		req.Body = http.NoBody
	case req.ContentLength <= int64(c.br.Buffered()) && req.ContentLength <= frontBufSize:
		n := int(req.ContentLength)
		c.bodyBuf = append(c.bodyBuf[:0], make([]byte, n)...)
		_, _ = io.ReadFull(c.br, c.bodyBuf)
		c.body = frontBody{buf: c.bodyBuf, remaining: req.ContentLength}
		req.Body = &c.body
	default:
		// The body streams from br: no watcher until it is all read.
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
	c.seq.Add(1)
	c.state.Store(state)
	keep := c.handle(req)
	c.finished = time.Now()
	if c.state.CompareAndSwap(connBusy, connIdle) || c.state.CompareAndSwap(connBody, connIdle) {
		return keep
	}
	// A watcher is reading: its read is the wait for the next request.
	c.state.Store(connWatching)
	if !keep {
		_ = c.nc.Close() // ends the watcher's read
		<-c.watchDone
		return false
	}
	if c.armIdle() != nil {
		_ = c.nc.Close()
	}
	err := <-c.watchDone
	c.state.Store(connIdle)
	return err == nil
}

// watch is the watcher goroutine of a request that outlasted a tick: it
// reads until bytes arrive, the client goes away (cancelling the request)
// or, once the answer is out, the idle deadline passes.
func (c *frontConn) watch() {
	for {
		_, err := c.br.Peek(1)
		if err == nil {
			c.watchDone <- nil
			return
		}
		if !isTimeout(err) {
			c.cancel() // the client went away (or the answer closed the connection)
		} else if !c.fe.shutting.Load() {
			switch c.state.Load() {
			case connWatched:
				// A long answer outlasted the read deadline; the
				// client is still there.
				c.setDeadline(time.Now().Add(c.fe.idleTimeout))
				continue
			case connWatching:
				if c.armIdle() == nil {
					continue // the deadline was set before the answer went out
				}
			}
		}
		c.watchDone <- err
		return
	}
}

// busy reports whether a request is being answered, for shutdown.
func (c *frontConn) busy() bool {
	s := c.state.Load()
	return s == connBusy || s == connBody || s == connWatched
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// handle answers one request and reports whether the connection stays open;
// when it does not, handle closes it.
func (c *frontConn) handle(req *http.Request) (keep bool) {
	w := &c.w
	w.reset(req)
	defer func() {
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
	rc := &replayConn{Conn: c.nc, br: c.br}
	select {
	case c.fe.fallback <- rc:
	case <-c.fe.closed:
		_ = c.nc.Close()
	}
}

// frontBody is a fast-path request body with a known length.
type frontBody struct {
	buf       []byte        // the whole body, when it was already read
	br        *bufio.Reader // else the connection's reader
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
	var n int
	var err error
	if b.br == nil {
		n = copy(p, b.buf[len(b.buf)-int(b.remaining):])
	} else {
		n, err = b.br.Read(p)
	}
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
// path had buffered before reaching the socket.
type replayConn struct {
	net.Conn
	br *bufio.Reader
}

func (r *replayConn) Read(p []byte) (int, error) {
	if r.br != nil {
		if r.br.Buffered() > 0 {
			return r.br.Read(p)
		}
		r.br = nil
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
