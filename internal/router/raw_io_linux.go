//go:build linux

package router

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawIO reads and writes a TCP socket with system calls the Go scheduler
// is not told about, waiting for readiness through the netpoller as
// net.Conn does.
//
// A read or write on a non-blocking socket never blocks, but on loopback a
// write runs the receiver's side of TCP too and can take tens of
// microseconds. Made the usual way, such a call hands its processor to the
// scheduler's monitor, which takes it away after 20 µs and wakes another
// thread to run the goroutines queued there; the returning thread then
// finds its processor gone and goes to sleep, and the goroutine waits for
// yet another thread. At 1,000 requests a second that happened on most
// requests: thread wake-ups on their path that nginx's event loop does not
// have, which put our median latency ~80 µs behind nginx's. Reading and
// writing without telling the scheduler keeps the processor with the
// thread for the few microseconds of the call, as an event loop does.
//
// Deadlines and Close work as on the net.Conn it wraps: the waiting is the
// netpoller's. One Read and one Write may run at once; two Reads (or two
// Writes) may not, unlike on a net.Conn: the router never has two
// goroutines read one connection.
type rawIO struct {
	nc net.Conn
	rc syscall.RawConn

	// The buffer and result of the call in progress; read and write are
	// method values made once, so a call allocates nothing.
	rbuf, wbuf []byte
	rn, wn     int
	rerr, werr syscall.Errno
	readFn     func(fd uintptr) bool
	writeFn    func(fd uintptr) bool

	// quiet's peek: a byte to peek into, its answer, and its method value.
	peekBuf [1]byte
	silent  bool
	peekFn  func(fd uintptr)

	// readLazily's state: while inLazy, Read makes one read on lazyFD and
	// never waits.
	lazyFn  func(fd uintptr) bool
	lazyFD  uintptr
	inLazy  bool
	lazyCB  *connBuffers
	lazyBR  *bufio.Reader
	lazyErr error

	// sendThenFill's state: while holding, Write keeps what it is given
	// in held instead of sending it; sendBW is the buffer those bytes
	// live in, given back once they are sent; sending is set until they
	// are.
	holding bool
	held    []byte
	sendBW  *bufio.Writer
	sending bool
	sendFn  func(fd uintptr) bool
}

// errWouldBlock is Read's answer, during readLazily, when there is nothing
// to read yet.
var errWouldBlock = errors.New("read would block")

// newRawIO returns what reads and writes nc: a rawIO for a TCP connection,
// nc itself for anything else.
func newRawIO(nc net.Conn) io.ReadWriter {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nc
	}
	r := &rawIO{nc: nc, rc: rc}
	r.readFn, r.writeFn, r.peekFn, r.lazyFn, r.sendFn = r.read, r.write, r.peek, r.fillLazy, r.sendThenFillLazy
	return r
}

func (r *rawIO) read(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.rbuf[0])), uintptr(len(r.rbuf)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait until readable
		}
		r.rn, r.rerr = int(n), e
		return true
	}
}

func (r *rawIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.inLazy {
		return r.readNow(p)
	}
	r.rbuf, r.rn, r.rerr = p, 0, 0
	err := r.rc.Read(r.readFn)
	r.rbuf = nil
	switch {
	case err != nil:
		return 0, r.opError("read", err)
	case r.rerr != 0:
		return 0, r.opError("read", os.NewSyscallError("read", r.rerr))
	case r.rn == 0:
		return 0, io.EOF
	}
	return r.rn, nil
}

// readLazily waits until the socket has bytes to read, or an error or the
// end of the stream to report, and only then takes a buffer from cb and
// fills it: a connection waiting here holds no buffer. It returns the
// buffer with at least one byte in it, or the error with no buffer held.
// It makes the same system calls as a Read into a buffer held throughout.
func (r *rawIO) readLazily(cb *connBuffers) (*bufio.Reader, error) {
	r.lazyCB, r.lazyBR, r.lazyErr = cb, nil, nil
	err := r.rc.Read(r.lazyFn)
	br, lerr := r.lazyBR, r.lazyErr
	r.lazyCB, r.lazyBR, r.lazyErr = nil, nil, nil
	if err != nil {
		return nil, r.opError("read", err) // the deadline passed, or the connection was closed
	}
	return br, lerr
}

// fillLazy is readLazily's attempt, called by the netpoller each time the
// socket may be readable: it fills a lent buffer with one read, and gives
// the buffer back when that read would have blocked.
func (r *rawIO) fillLazy(fd uintptr) bool {
	br := r.lazyCB.reader(r)
	r.lazyFD, r.inLazy = fd, true
	_, err := br.Peek(1)
	r.inLazy = false
	if err == errWouldBlock {
		r.lazyCB.putReader(br)
		return false // wait until readable
	}
	if err != nil {
		r.lazyCB.putReader(br)
		br = nil
	}
	r.lazyBR, r.lazyErr = br, err
	return true
}

// sendThenFill sends what bw buffers, gives bw back to cb, and then
// waits for the answer as readLazily does. It arms the wait before it
// sends, and so makes no read until the answer is there: a read made
// right after sending finds nothing nearly every time (the target has not
// even been scheduled yet), and that read was one system call of the
// seven a proxied request cost. An answer that comes at once is not
// missed: its arrival is an event the wait, armed before, counts.
//
// sendErr is a failure to send, with nothing read; err one to read the
// answer. Should the socket take only part of the bytes, the rest is
// written as Write does, and the wait begins after it. It is a Read and a
// Write at once: neither may run beside it.
func (r *rawIO) sendThenFill(cb *connBuffers, bw *bufio.Writer) (br *bufio.Reader, sendErr, err error) {
	r.holding = true
	_ = bw.Flush() // into held: Write keeps the bytes while holding
	r.holding = false
	p := r.held
	r.held = nil
	if len(p) == 0 {
		cb.putWriter(bw)
		br, err = r.readLazily(cb)
		return br, nil, err
	}
	r.wbuf, r.wn, r.werr = p, 0, 0
	r.sendBW, r.sending = bw, true
	r.lazyCB, r.lazyBR, r.lazyErr = cb, nil, nil
	rerr := r.rc.Read(r.sendFn)
	br, err = r.lazyBR, r.lazyErr
	r.lazyCB, r.lazyBR, r.lazyErr = nil, nil, nil
	if r.sending {
		// Not all sent: the socket took part of it, sending failed,
		// or the wait could not even begin (a deadline passed, or the
		// connection was closed).
		r.sending = false
		rest, werr := r.wbuf[r.wn:], r.werr
		r.wbuf, r.sendBW = nil, nil
		switch {
		case werr != 0:
			sendErr = r.opError("write", os.NewSyscallError("write", werr))
		case rerr != nil && r.wn == 0:
			sendErr = r.opError("write", rerr)
		default:
			_, sendErr = r.Write(rest)
		}
		cb.putWriter(bw)
		if sendErr != nil {
			return nil, sendErr, nil
		}
		br, err = r.readLazily(cb)
		return br, nil, err
	}
	if rerr != nil {
		return nil, nil, r.opError("read", rerr)
	}
	return br, nil, err
}

// sendThenFillLazy is sendThenFill's call from the netpoller: the first
// sends (and asks to wait), the later ones read as fillLazy does.
func (r *rawIO) sendThenFillLazy(fd uintptr) bool {
	if !r.sending {
		return r.fillLazy(fd)
	}
	if !r.write(fd) || r.werr != 0 {
		return true // the socket is full, or sending failed: sendThenFill carries on
	}
	r.sending = false
	r.wbuf = nil
	r.lazyCB.putWriter(r.sendBW)
	r.sendBW = nil
	return false // sent: wait for the answer
}

// readNow is Read during readLazily: one read that never waits.
func (r *rawIO) readNow(p []byte) (int, error) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, r.lazyFD, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch e {
		case 0:
			if n == 0 {
				return 0, io.EOF
			}
			return int(n), nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, errWouldBlock
		}
		return 0, r.opError("read", os.NewSyscallError("read", e))
	}
}

func (r *rawIO) write(fd uintptr) bool {
	for r.wn < len(r.wbuf) {
		rest := r.wbuf[r.wn:]
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
		switch e {
		case 0:
			r.wn += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false // wait until writable
		default:
			r.werr = e
			return true
		}
	}
	return true
}

func (r *rawIO) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.holding {
		r.held = p
		return len(p), nil
	}
	r.wbuf, r.wn, r.werr = p, 0, 0
	err := r.rc.Write(r.writeFn)
	r.wbuf = nil
	switch {
	case err != nil:
		return r.wn, r.opError("write", err)
	case r.werr != 0:
		return r.wn, r.opError("write", os.NewSyscallError("write", r.werr))
	}
	return r.wn, nil
}

// quiet reports whether the peer has neither sent a byte nor closed the
// connection: a receive that peeks without waiting finds nothing to read.
// It neither waits nor looks at the read deadline, and allocates nothing.
// It may not run while a Read does.
func (r *rawIO) quiet() bool {
	r.silent = false
	if err := r.rc.Control(r.peekFn); err != nil {
		return false // closed
	}
	return r.silent
}

func (r *rawIO) peek(fd uintptr) {
	for {
		_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&r.peekBuf[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if e != syscall.EINTR {
			r.silent = e == syscall.EAGAIN
			return
		}
	}
}

// opError shapes an error as net.Conn's own: callers test for timeouts,
// closed connections and resets with errors.Is either way.
func (r *rawIO) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		e := *oe // "raw-read" or "raw-write" from the RawConn
		e.Op = op
		return &e
	}
	return &net.OpError{Op: op, Net: "tcp", Source: r.nc.LocalAddr(), Addr: r.nc.RemoteAddr(), Err: err}
}
