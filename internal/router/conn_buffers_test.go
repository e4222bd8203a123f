package router

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// newBufferTestFront starts a router over one target answering with the
// request's path and body (after /slow requests wait for release), and its
// fast front end.
func newBufferTestFront(t *testing.T, release <-chan struct{}, inFlight func()) (*Router, *frontEnd) {
	t.Helper()
	return newEchoFront(t, Options{}, func(r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/slow") {
			inFlight()
			<-release
		}
	})
}

// answeredConns opens n keep-alive connections to addr and has each
// answered once (GET /firstI, answered "/firstI "), all requests sent
// before any answer is read.
func answeredConns(t *testing.T, addr string, n int) ([]net.Conn, []*bufio.Reader) {
	t.Helper()
	conns := make([]net.Conn, n)
	readers := make([]*bufio.Reader, n)
	for i := range conns {
		conns[i], readers[i] = rawConn(t, addr)
		_, _ = fmt.Fprintf(conns[i], "GET /first%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	for i := range conns {
		wantAnswer(t, readers[i], "GET", fmt.Sprintf("/first%d ", i))
	}
	return conns, readers
}

func wantAnswer(t *testing.T, br *bufio.Reader, method, want string) {
	t.Helper()
	resp, body := readAnswer(t, br, method)
	if resp.StatusCode != http.StatusOK || body != want {
		t.Fatalf("answer %d %q, want 200 %q", resp.StatusCode, body, want)
	}
}

// TestIdleConnectionsHoldNoBuffers opens many keep-alive client connections
// and checks that, once each has been answered, the router holds no read or
// write buffer for any of them (nor for its idle target connections), and
// none while requests wait for their target; every connection still
// carries its next request.
func TestIdleConnectionsHoldNoBuffers(t *testing.T) {
	const n = 200
	release := make(chan struct{})
	arrived := make(chan struct{}, n)
	rt, fe := newBufferTestFront(t, release, func() { arrived <- struct{}{} })
	conns, readers := answeredConns(t, fe.Addr().String(), n)
	waitFor(t, "no buffer held by idle connections", func() bool { return rt.bufs.held.Load() == 0 })
	if got := len(fe.conns); got != n {
		t.Fatalf("%d connections open, want %d", got, n)
	}

	// Requests waiting for their target hold no buffer either.
	for i := range conns {
		_, _ = fmt.Fprintf(conns[i], "GET /slow%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	for range n {
		<-arrived
	}
	// A request reaches its target as the router's write of it returns:
	// the write buffer comes back a moment later, so this waits for it.
	// (release is closed first if it fails, so the targets' handlers end.)
	var once sync.Once
	closeRelease := func() { once.Do(func() { close(release) }) }
	t.Cleanup(closeRelease)
	waitFor(t, "no buffer held by requests waiting for their target", func() bool { return rt.bufs.held.Load() == 0 })
	closeRelease()
	for i := range conns {
		wantAnswer(t, readers[i], "GET", fmt.Sprintf("/slow%d ", i))
	}
	waitFor(t, "no buffer held after the answers", func() bool { return rt.bufs.held.Load() == 0 })
}

// TestPipelinedRequestsShareOneBuffer sends requests pipelined in one write,
// with and without bodies: they are answered in order on one connection,
// and the buffer goes back once the last is read.
func TestPipelinedRequestsShareOneBuffer(t *testing.T) {
	rt, fe := newBufferTestFront(t, nil, nil)
	conn, br := rawConn(t, fe.Addr().String())
	var batch strings.Builder
	var want []string
	for i := range 30 {
		if i%3 == 1 {
			body := strings.Repeat("b", i*10)
			fmt.Fprintf(&batch, "POST /p%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", i, len(body), body)
			want = append(want, fmt.Sprintf("/p%d %s", i, body))
			continue
		}
		fmt.Fprintf(&batch, "GET /g%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		want = append(want, fmt.Sprintf("/g%d ", i))
	}
	if _, err := io.WriteString(conn, batch.String()); err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		method := "GET"
		if i%3 == 1 {
			method = "POST"
		}
		wantAnswer(t, br, method, w)
	}
	waitFor(t, "no buffer held after the pipeline", func() bool { return rt.bufs.held.Load() == 0 })
}

// TestSlowClientKeepsItsBuffer sends a head and a body in pieces: the
// connection holds one read buffer from the first byte of the head on (and
// the upload, streaming to the target, a write buffer there), and none
// once answered.
func TestSlowClientKeepsItsBuffer(t *testing.T) {
	rt, fe := newBufferTestFront(t, nil, nil)
	conn, br := rawConn(t, fe.Addr().String())
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	for round := range 2 {
		for _, p := range []string{"POST /up", "load HTTP/1.1\r\nHo", "st: x\r\nContent-Length: 10\r\n"} {
			if _, err := io.WriteString(conn, p); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the piece of the head read into one buffer", func() bool { return rt.bufs.held.Load() == 1 })
		}
		_, _ = io.WriteString(conn, "\r\n0123")
		waitFor(t, "part of the body read", func() bool { return rt.bufs.held.Load() >= 1 })
		_, _ = io.WriteString(conn, "456789")
		wantAnswer(t, br, "POST", "/upload 0123456789")
		waitFor(t, fmt.Sprintf("no buffer held after answer %d", round), func() bool { return rt.bufs.held.Load() == 0 })
	}
	// A client that leaves half-way through a head gives its buffer back.
	_, _ = io.WriteString(conn, "GET / HT")
	waitFor(t, "the partial head read", func() bool { return rt.bufs.held.Load() == 1 })
	_ = conn.Close()
	waitFor(t, "the buffer back after the client left", func() bool { return rt.bufs.held.Load() == 0 })
}

// TestClientLeavingSlowRequestIsCancelled checks the watchdog's peek: a
// client that closes while its request waits for the target cancels it,
// and the target sees its request's context end.
func TestClientLeavingSlowRequestIsCancelled(t *testing.T) {
	arrived := make(chan struct{})
	cancelled := make(chan struct{})
	b := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
		close(cancelled)
	})
	rt, err := New(Options{Blue: []string{b.URL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	fe := rt.newFrontEnd(newLoopbackListener(t), rt.Handler(Production))
	t.Cleanup(func() { fe.shutdown(context.Background()) })
	conn, _ := rawConn(t, fe.Addr().String())
	_, _ = io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-arrived
	_ = conn.Close()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the target's request was not cancelled after the client left")
	}
	waitFor(t, "499 counted", func() bool { return rt.Metrics().Blue.ClientCancelled == 1 })
}

// TestFreeListKeepsWhatIsUsed: a free list keeps the buffers a steady load
// uses, and lets a burst's surplus go within two periods of it.
func TestFreeListKeepsWhatIsUsed(t *testing.T) {
	var l freeList[*int]
	now := time.Unix(1000, 0)
	l.trim(now)
	lendAll := func(n int) []*int {
		var out []*int
		for range n {
			it := l.get()
			if it == nil {
				it = new(int)
			}
			out = append(out, it)
		}
		return out
	}
	giveBack := func(items []*int) {
		for _, it := range items {
			l.putAt(it, now)
		}
	}
	// A burst of 100 at once, then a steady 10 at a time.
	giveBack(lendAll(100))
	if got := l.size(); got != 100 {
		t.Fatalf("after the burst the list holds %d, want 100", got)
	}
	for period := range 3 {
		for range 50 {
			giveBack(lendAll(10))
		}
		now = now.Add(freeListTrim)
		l.trim(now)
		// The burst was in period 0: all 100 were used then.
		if got, want := l.size(), []int{100, 10, 10}[period]; got != want {
			t.Fatalf("after period %d of steady use the list holds %d, want %d", period, got, want)
		}
	}
	// Nothing lent for a period: everything goes.
	now = now.Add(freeListTrim)
	l.trim(now)
	if got := l.size(); got != 0 {
		t.Fatalf("after an idle period the list holds %d, want 0", got)
	}
	// Within a period nothing is dropped, however little is used.
	giveBack(lendAll(30))
	l.trim(now.Add(freeListTrim / 2))
	if got := l.size(); got != 30 {
		t.Fatalf("mid-period the list holds %d, want 30", got)
	}
}
