package router

import (
	"bufio"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// connBufSize is the size of every connection read and write buffer, client
// and target side alike: a page, as nginx's proxy buffers. A client's
// request head longer than that (rare: browsers send 0.5-2 KB) goes to
// net/http, which serves it as well, more slowly; a longer target response
// head is read by net/http too. Under load the buffers lent at once come in
// bursts of hundreds (goroutines descheduled while holding one, as during a
// garbage collection), and at 8 KB those bursts were a third of the heap.
const connBufSize = 4 << 10

// connBuffers lends the read and write buffers of client and target
// connections. A connection holds one only while it has bytes to read or
// an answer to write: an idle keep-alive connection, or one waiting for its
// target's answer, holds none. With thousands of mostly idle connections
// (a browser keeps six open per site) the buffers are most of a proxy's
// memory: 32 KB a connection before, against nginx's ~1 KB when idle.
//
// The buffers given back wait in free lists, not sync.Pools: a pool is
// emptied by every garbage collection, so under load each cycle the
// router allocated its buffers anew (a third of all it allocated), which
// brought the next cycle closer and left the heap's pages fragmented. A
// free list keeps what is given back for as long as it is used (see
// freeList.trim).
//
// The zero value is ready to use.
type connBuffers struct {
	readers freeList[*bufio.Reader]
	writers freeList[*bufio.Writer]
	// held counts the buffers lent and not yet returned, for tests.
	held atomic.Int64
}

// reader lends a read buffer reading from src.
func (cb *connBuffers) reader(src io.Reader) *bufio.Reader {
	cb.held.Add(1)
	br := cb.readers.get()
	if br == nil {
		return bufio.NewReaderSize(src, connBufSize)
	}
	br.Reset(src)
	return br
}

// putReader takes back a read buffer; what it still holds is dropped.
func (cb *connBuffers) putReader(br *bufio.Reader) {
	br.Reset(nil)
	cb.readers.put(br)
	cb.held.Add(-1)
}

// writer lends a write buffer writing to dst.
func (cb *connBuffers) writer(dst io.Writer) *bufio.Writer {
	cb.held.Add(1)
	bw := cb.writers.get()
	if bw == nil {
		return bufio.NewWriterSize(dst, connBufSize)
	}
	bw.Reset(dst)
	return bw
}

// putWriter takes back a write buffer; what it still holds is dropped.
func (cb *connBuffers) putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	cb.writers.put(bw)
	cb.held.Add(-1)
}

// freeListTrim is how often a free list lets go of the buffers it kept
// unused throughout the period before.
const freeListTrim = time.Second

// freeList keeps the buffers given back, most recently given back on top,
// for the next borrower. It keeps what a load uses and no more: once a
// period (freeListTrim, checked as buffers come back and on the front
// end's watchdog ticks), it drops as many as it held throughout the period
// (its low-water mark), oldest first, to the garbage collector. After a
// burst the surplus goes within two periods.
//
// The zero value is ready to use.
type freeList[T any] struct {
	mu     sync.Mutex
	items  []T
	low    int       // fewest items held since trimmed
	period time.Time // when the current period began
	puts   uint      // items given back with put, to look at the clock now and then
}

// get takes the most recently given back item; the zero T when there is
// none.
func (l *freeList[T]) get() T {
	var zero T
	l.mu.Lock()
	n := len(l.items) - 1
	if n < 0 {
		l.mu.Unlock()
		return zero
	}
	it := l.items[n]
	l.items[n] = zero
	l.items = l.items[:n]
	l.low = min(l.low, n)
	l.mu.Unlock()
	return it
}

// freeListCheckEvery is how many items come back between two looks at the
// clock in put: reading it for every buffer given back (four a request)
// was a percent and a half of the router's CPU. The front end's watchdog
// trims the lists on its ticks too.
const freeListCheckEvery = 64

// put gives an item back, and trims the list once a period.
func (l *freeList[T]) put(it T) {
	l.mu.Lock()
	l.items = append(l.items, it)
	if l.puts++; l.puts%freeListCheckEvery == 0 {
		l.trimLocked(time.Now())
	}
	l.mu.Unlock()
}

// putAt gives an item back and trims the list if the period is over at now.
func (l *freeList[T]) putAt(it T, now time.Time) {
	l.mu.Lock()
	l.items = append(l.items, it)
	l.trimLocked(now)
	l.mu.Unlock()
}

// trim ends the period if it is over; the front end's watchdog calls it,
// so that buffers go back after a burst that no request follows.
func (l *freeList[T]) trim(now time.Time) {
	l.mu.Lock()
	l.trimLocked(now)
	l.mu.Unlock()
}

// trimLocked, once a period is over, drops the items no one took during
// it and begins the next; l.mu is held.
func (l *freeList[T]) trimLocked(now time.Time) {
	if now.Sub(l.period) < freeListTrim {
		return
	}
	if l.low > 0 {
		n := copy(l.items, l.items[l.low:])
		clear(l.items[n:])
		l.items = l.items[:n]
		if cap(l.items) > 64 && n < cap(l.items)/4 {
			l.items = append([]T(nil), l.items...) // let a burst's backing array go too
		}
	}
	l.low, l.period = len(l.items), now
}

// trim lets the free lists drop what went unused (freeList.trim).
func (cb *connBuffers) trim(now time.Time) {
	cb.readers.trim(now)
	cb.writers.trim(now)
}

// size reports how many items the list holds, for tests.
func (l *freeList[T]) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

// lazyReader is a connection that can wait for bytes before a buffer is
// taken to read them into (rawIO on Linux).
type lazyReader interface {
	readLazily(cb *connBuffers) (*bufio.Reader, error)
}

// fill waits until src has bytes to read, or an error or the end of the
// stream to report, and returns a lent reader holding at least one byte.
// Where src can wait first, no buffer is held during the wait; elsewhere
// the buffer is taken before it. On error no buffer is held.
func (cb *connBuffers) fill(src io.Reader) (*bufio.Reader, error) {
	if lr, ok := src.(lazyReader); ok {
		return lr.readLazily(cb)
	}
	br := cb.reader(src)
	if _, err := br.Peek(1); err != nil {
		cb.putReader(br)
		return nil, err
	}
	return br, nil
}

// lazySender is a connection that can send and then wait for the answer
// without reading in between (rawIO on Linux).
type lazySender interface {
	sendThenFill(cb *connBuffers, bw *bufio.Writer) (br *bufio.Reader, sendErr, err error)
}

// sendThenFill flushes bw to rw, gives bw back, and then waits for the
// answer as fill does. sendErr is a failure to send (nothing was read);
// err a failure to read. bw must have been lent by cb to write to rw.
func (cb *connBuffers) sendThenFill(rw io.ReadWriter, bw *bufio.Writer) (br *bufio.Reader, sendErr, err error) {
	if ls, ok := rw.(lazySender); ok {
		return ls.sendThenFill(cb, bw)
	}
	sendErr = bw.Flush()
	cb.putWriter(bw)
	if sendErr != nil {
		return nil, sendErr, nil
	}
	br, err = cb.fill(rw)
	return br, nil, err
}
