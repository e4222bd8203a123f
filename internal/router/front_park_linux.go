//go:build linux

package router

import (
	"bufio"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// parker holds a front end's idle keep-alive connections without a
// goroutine each, as an event loop does: a parked connection is a socket in
// an epoll set of the parker's, and the goroutine that served it has
// returned. When the socket becomes readable (the next request, or the
// client closing) the parker starts a goroutine that carries on where the
// last one stopped (frontConn.run). A goroutine that has answered a request
// keeps a stack of 4-8 KB while it waits: a browser's keep-alive
// connections, idle most of their lives, cost that each. A connection is
// parked once idle for the front end's parkAfter (the watchdog nudges its
// goroutine), or at once when Options.ParkIdleAbove asks for it.
//
// The epoll set is itself waited on through Go's netpoller, so the loop
// holds no thread while nothing happens. Sockets are added one-shot: an
// event disarms the socket until it is parked again, so one readiness
// starts one goroutine.
//
// A parked connection has no reader for its read deadline to wake, so the
// idle timeout is the parker's (expire, from the front end's watchdog), and
// shutdown wakes every parked connection (wakeAll) to see that it is
// ending.
type parker struct {
	epfd int
	file *os.File // epfd, for the netpoller
	rc   syscall.RawConn

	parks atomic.Int64 // connections parked so far

	mu     sync.Mutex
	conns  map[int32]parked // by socket
	closed bool
}

type parked struct {
	c      *frontConn
	idleBy time.Time // when the idle timeout ends it
}

func newParker() (*parker, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// Non-blocking, so that os.NewFile hands it to the netpoller.
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	f := os.NewFile(uintptr(fd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	p := &parker{epfd: fd, file: f, rc: rc, conns: map[int32]parked{}}
	go p.loop()
	return p, nil
}

// loop starts a goroutine for each parked connection that becomes
// readable, until the parker is closed.
func (p *parker) loop() {
	events := make([]syscall.EpollEvent, 256)
	var ready []*frontConn
	take := func(fd uintptr) bool {
		for {
			n, err := syscall.EpollWait(int(fd), events, 0)
			if err == syscall.EINTR {
				continue
			}
			if n <= 0 {
				return false // nothing ready: wait for the netpoller
			}
			p.mu.Lock()
			for _, ev := range events[:n] {
				if pc, ok := p.conns[ev.Fd]; ok {
					delete(p.conns, ev.Fd)
					pc.c.parked.Store(false)
					ready = append(ready, pc.c)
				}
			}
			p.mu.Unlock()
			return true
		}
	}
	for {
		err := p.rc.Read(take)
		for _, c := range ready {
			go c.run()
		}
		clear(ready)
		ready = ready[:0]
		if err != nil {
			return // closed
		}
	}
}

// park adds c, whose socket is fd, to the set; it reports false, with c
// untouched, when c could not be parked (the parker is closed). Once park
// returns true, c belongs to the goroutine the parker starts for it: the
// caller must not touch it again.
func (p *parker) park(c *frontConn, fd int, idleBy time.Time) bool {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd)}
	op := syscall.EPOLL_CTL_MOD
	if !c.inEpoll {
		op = syscall.EPOLL_CTL_ADD
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	// An event can be taken as soon as epoll_ctl returns, but not before
	// the lock is released, so the map entry is there for it.
	if err := syscall.EpollCtl(p.epfd, op, fd, &ev); err != nil {
		return false
	}
	c.inEpoll = true
	c.parkedFD = int32(fd)
	c.parked.Store(true)
	p.conns[int32(fd)] = parked{c: c, idleBy: idleBy}
	p.parks.Add(1)
	return true
}

// forget takes the socket fd out of the epoll set before its connection
// closes it (the set would drop it on close, but not while another
// descriptor, such as one a hand-over passed on, keeps the socket open).
func (p *parker) forget(fd int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed { // once closed, epfd may be another file's
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	}
}

// expire resumes the parked connections whose idle timeout has passed;
// each finds so and closes.
func (p *parker) expire(now time.Time) {
	var due []*frontConn
	p.mu.Lock()
	for fd, pc := range p.conns {
		if !now.Before(pc.idleBy) {
			delete(p.conns, fd)
			pc.c.parked.Store(false)
			due = append(due, pc.c)
		}
	}
	p.mu.Unlock()
	for _, c := range due {
		go c.run()
	}
}

// wakeAll resumes every parked connection; with stop, it parks no more
// and ends its loop.
func (p *parker) wakeAll(stop bool) {
	p.mu.Lock()
	all := make([]*frontConn, 0, len(p.conns))
	for _, pc := range p.conns {
		pc.c.parked.Store(false)
		all = append(all, pc.c)
	}
	clear(p.conns)
	if stop && !p.closed {
		p.closed = true
		_ = p.file.Close()
	}
	p.mu.Unlock()
	for _, c := range all {
		go c.run()
	}
}

// parked reports how many connections wait in the set, for tests.
func (p *parker) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// errParked is readRequest's answer when the connection was parked: its
// goroutine returns and leaves it to the parker.
var errParked = errors.New("connection parked")

// parkOrFill waits for the next request's first bytes between requests:
// when there are many connections, or now, it parks c instead of waiting
// (and returns errParked); otherwise, or when bytes are already there, it
// fills c.br as fill does.
func (c *frontConn) parkOrFill(now bool) error {
	r, ok := c.rw.(*rawIO)
	p := c.fe.parkerIfBusy()
	if now {
		p = c.fe.parker()
	}
	if !ok || p == nil {
		return c.fill()
	}
	br, err, fd, ready := r.fillNow(&c.fe.rt.bufs)
	if ready {
		c.br = br
		return err
	}
	if fd >= 0 && p.park(c, fd, c.finished.Add(c.fe.idleTimeout)) {
		return errParked
	}
	return c.fill()
}

// unpark takes c's socket out of the epoll set before it closes.
func (c *frontConn) unpark() {
	if c.inEpoll {
		c.fe.park.Load().forget(int(c.parkedFD))
		c.inEpoll = false
	}
}

// fillNow is readLazily without the wait: it fills a lent buffer when the
// socket has bytes (or an error) to report, and reports ready=false, with
// no buffer held, when a read would block. fd is the socket, or -1 when
// the connection is closed.
func (r *rawIO) fillNow(cb *connBuffers) (br *bufio.Reader, err error, fd int, ready bool) {
	fd = -1
	r.lazyCB, r.lazyBR, r.lazyErr = cb, nil, nil
	cerr := r.rc.Control(func(sfd uintptr) {
		fd = int(sfd)
		ready = r.fillLazy(sfd)
	})
	br, err = r.lazyBR, r.lazyErr
	r.lazyCB, r.lazyBR, r.lazyErr = nil, nil, nil
	if cerr != nil {
		return nil, r.opError("read", cerr), -1, true
	}
	return br, err, fd, ready
}
