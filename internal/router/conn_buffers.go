package router

import (
	"bufio"
	"io"
	"sync"
	"sync/atomic"
)

// connBufSize is the size of every connection read and write buffer, client
// and target side alike. A client's request head longer than that goes to
// net/http.
const connBufSize = 8 << 10

// connBuffers lends the read and write buffers of client and target
// connections. A connection holds one only while it has bytes to read or
// an answer to write: an idle keep-alive connection, or one waiting for its
// target's answer, holds none. With thousands of mostly idle connections
// (a browser keeps six open per site) the buffers are most of a proxy's
// memory: 32 KB a connection before, against nginx's ~1 KB when idle.
//
// The zero value is ready to use.
type connBuffers struct {
	readers, writers sync.Pool
	// held counts the buffers lent and not yet returned, for tests.
	held atomic.Int64
}

// reader lends a read buffer reading from src.
func (cb *connBuffers) reader(src io.Reader) *bufio.Reader {
	cb.held.Add(1)
	br, _ := cb.readers.Get().(*bufio.Reader)
	if br == nil {
		return bufio.NewReaderSize(src, connBufSize)
	}
	br.Reset(src)
	return br
}

// putReader takes back a read buffer; what it still holds is dropped.
func (cb *connBuffers) putReader(br *bufio.Reader) {
	br.Reset(nil)
	cb.readers.Put(br)
	cb.held.Add(-1)
}

// writer lends a write buffer writing to dst.
func (cb *connBuffers) writer(dst io.Writer) *bufio.Writer {
	cb.held.Add(1)
	bw, _ := cb.writers.Get().(*bufio.Writer)
	if bw == nil {
		return bufio.NewWriterSize(dst, connBufSize)
	}
	bw.Reset(dst)
	return bw
}

// putWriter takes back a write buffer; what it still holds is dropped.
func (cb *connBuffers) putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	cb.writers.Put(bw)
	cb.held.Add(-1)
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
