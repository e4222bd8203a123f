//go:build linux

package router

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newParkingFront starts a router with opts over one target answering
// with the request's path and body, and its fast front end.
func newParkingFront(t *testing.T, opts Options) (*Router, *frontEnd) {
	t.Helper()
	return newEchoFront(t, opts, nil)
}

// newEchoFront starts a router with opts over one target answering with
// the request's path and body (after before(r) returns, when given), and
// its fast front end.
func newEchoFront(t *testing.T, opts Options, before func(*http.Request)) (*Router, *frontEnd) {
	t.Helper()
	b := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		if before != nil {
			before(r)
		}
		body, _ := io.ReadAll(r.Body)
		_, _ = fmt.Fprintf(w, "%s %s", r.URL.Path, body)
	})
	opts.Blue = []string{b.URL}
	rt, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	fe := rt.newFrontEnd(newLoopbackListener(t), rt.Handler(Production))
	t.Cleanup(func() { fe.shutdown(context.Background()) })
	return rt, fe
}

// frontConnGoroutines counts the goroutines serving client connections.
func frontConnGoroutines() int {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "router.(*frontConn).") {
			n++
		}
	}
	return n
}

func parkedCount(fe *frontEnd) int {
	if p := fe.park.Load(); p != nil {
		return p.count()
	}
	return 0
}

// TestParkedConnectionsHoldNoGoroutine: with many connections open, an
// idle keep-alive connection has no goroutine, holds no buffer, and still
// carries its next request, alone or pipelined, in order.
func TestParkedConnectionsHoldNoGoroutine(t *testing.T) {
	const n = 200
	rt, fe := newParkingFront(t, Options{ParkIdleAbove: 1})
	conns, readers := answeredConns(t, fe.Addr().String(), n)
	// The first connection's first request came before a second was
	// open: it keeps its goroutine until its next request.
	waitFor(t, "idle connections parked", func() bool { return parkedCount(fe) >= n-1 })
	// The first connection's goroutine may still wait for its second.
	waitFor(t, "no goroutine serving the parked connections", func() bool { return frontConnGoroutines() <= 1 })
	waitFor(t, "no buffer held by parked connections", func() bool { return rt.bufs.held.Load() == 0 })

	for round := range 3 {
		for i := range conns {
			if i%2 == 0 {
				_, _ = fmt.Fprintf(conns[i], "GET /a%d-%d HTTP/1.1\r\nHost: x\r\n\r\nPOST /b%d-%d HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz", i, round, i, round)
			} else {
				_, _ = fmt.Fprintf(conns[i], "GET /a%d-%d HTTP/1.1\r\nHost: x\r\n\r\n", i, round)
			}
		}
		for i := range conns {
			wantAnswer(t, readers[i], "GET", fmt.Sprintf("/a%d-%d ", i, round))
			if i%2 == 0 {
				wantAnswer(t, readers[i], "POST", fmt.Sprintf("/b%d-%d xyz", i, round))
			}
		}
		waitFor(t, fmt.Sprintf("every connection parked after round %d", round), func() bool { return parkedCount(fe) == n })
	}
	fe.mu.Lock()
	open := len(fe.conns)
	fe.mu.Unlock()
	if open != n || fe.open.Load() != n {
		t.Fatalf("front end tracks %d connections (counts %d), want %d", open, fe.open.Load(), n)
	}
}

// TestParkedConnectionClosedByClient: a client closing a parked
// connection wakes it, and the front end lets it go.
func TestParkedConnectionClosedByClient(t *testing.T) {
	_, fe := newParkingFront(t, Options{ParkIdleAbove: 1})
	addr := fe.Addr().String()
	var conns []net.Conn
	for i := range 3 {
		c, br := rawConn(t, addr)
		_, _ = fmt.Fprintf(c, "GET /x%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		wantAnswer(t, br, "GET", fmt.Sprintf("/x%d ", i))
		conns = append(conns, c)
	}
	_, _ = fmt.Fprintf(conns[0], "GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
	_, _ = io.ReadAll(io.LimitReader(conns[0], 1)) // the answer has begun
	waitFor(t, "three connections parked", func() bool { return parkedCount(fe) == 3 })
	for _, c := range conns {
		_ = c.Close()
	}
	waitFor(t, "closed connections gone", func() bool { return fe.open.Load() == 0 && parkedCount(fe) == 0 })
}

// TestParkedConnectionIdleTimeout: a parked connection that sends nothing
// is closed after the idle timeout, as one waiting on its goroutine is.
func TestParkedConnectionIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	_, fe := newParkingFront(t, Options{ParkIdleAbove: 1, ClientIdleTimeout: idle})
	addr := fe.Addr().String()
	type cr struct {
		c  net.Conn
		br *bufio.Reader
	}
	var conns []cr
	for i := range 3 {
		c, br := rawConn(t, addr)
		_, _ = fmt.Fprintf(c, "GET /x%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		wantAnswer(t, br, "GET", fmt.Sprintf("/x%d ", i))
		conns = append(conns, cr{c, br})
	}
	waitFor(t, "connections parked", func() bool { return parkedCount(fe) >= 2 })
	for _, c := range conns {
		if took := readClosed(t, c.br, c.c); took > idle*3/2+2*watchTick+time.Second {
			t.Fatalf("idle connection closed after %s, idle timeout %s", took, idle)
		}
	}
	waitFor(t, "no connection left", func() bool { return fe.open.Load() == 0 && parkedCount(fe) == 0 })
}

// TestShutdownEndsParkedConnections: shutdown closes parked connections
// (their clients see the end of the stream) and returns at once, and a
// connection in the middle of a request still gets its answer.
func TestShutdownEndsParkedConnections(t *testing.T) {
	arrived := make(chan struct{})
	b := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			time.Sleep(200 * time.Millisecond)
		}
		_, _ = io.WriteString(w, r.URL.Path)
	})
	rt, err := New(Options{Blue: []string{b.URL}, ParkIdleAbove: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	fe := rt.newFrontEnd(newLoopbackListener(t), rt.Handler(Production))
	addr := fe.Addr().String()
	var idle []*bufio.Reader
	var idleConns []net.Conn
	for i := range 20 {
		c, br := rawConn(t, addr)
		_, _ = fmt.Fprintf(c, "GET /x%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		wantAnswer(t, br, "GET", fmt.Sprintf("/x%d", i))
		idle, idleConns = append(idle, br), append(idleConns, c)
	}
	waitFor(t, "connections parked", func() bool { return parkedCount(fe) >= 19 })
	slow, slowBR := idleConns[0], idle[0]
	_, _ = io.WriteString(slow, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-arrived

	done := make(chan struct{})
	go func() { fe.shutdown(context.Background()); close(done) }()
	resp, body := readAnswer(t, slowBR, "GET")
	if body != "/slow" || !resp.Close {
		t.Fatalf("request in flight at shutdown: %q, Connection: close %v; want /slow, closing", body, resp.Close)
	}
	for i := 1; i < len(idle); i++ {
		readClosed(t, idle[i], idleConns[i])
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown still waiting 5 s after its parked connections closed")
	}
	if fe.park.Load().count() != 0 || fe.open.Load() != 0 {
		t.Fatalf("after shutdown: %d parked, %d open", fe.park.Load().count(), fe.open.Load())
	}
}

// TestParkingUnderConcurrentLoad drives many connections through parking
// and waking at once (run it with -race): every answer is the right one.
func TestParkingUnderConcurrentLoad(t *testing.T) {
	_, fe := newParkingFront(t, Options{ParkIdleAbove: 1})
	addr := fe.Addr().String()
	const conns, requests = 40, 60
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for j := range requests {
				path := fmt.Sprintf("/c%d/r%d", i, j)
				if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
					errs <- err
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- fmt.Errorf("%s: %w", path, err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if got := strings.TrimSpace(string(body)); got != path {
					errs <- fmt.Errorf("asked %s, got %q", path, got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestIdleConnectionParkedAfterAWhile: with few connections open, a
// connection keeps its goroutine between requests that follow each other,
// and is parked once idle for parkAfter; a request with a head in pieces
// and a slow upload are not cut by the watchdog's nudge.
func TestIdleConnectionParkedAfterAWhile(t *testing.T) {
	_, fe := newParkingFront(t, Options{parkAfter: 3 * watchTick})
	addr := fe.Addr().String()

	conn, br := rawConn(t, addr)
	other, otherBR := rawConn(t, addr)
	for i := range 3 {
		_, _ = fmt.Fprintf(conn, "GET /a%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		wantAnswer(t, br, "GET", fmt.Sprintf("/a%d ", i))
		_, _ = fmt.Fprintf(other, "GET /b%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		wantAnswer(t, otherBR, "GET", fmt.Sprintf("/b%d ", i))
	}
	waitFor(t, "both idle connections parked", func() bool { return parkedCount(fe) == 2 })
	waitFor(t, "no goroutine serving them", func() bool { return frontConnGoroutines() == 0 })

	// A head in pieces, slower than parkAfter, then a body in pieces.
	pieces := []string{"POST /up", "load HTTP/1.1\r\nHost: x\r\n", "Content-Length: 6\r\n\r\n", "abc", "def"}
	for _, p := range pieces {
		if _, err := io.WriteString(conn, p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * watchTick)
	}
	wantAnswer(t, br, "POST", "/upload abcdef")
	_, _ = fmt.Fprintf(other, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
	wantAnswer(t, otherBR, "GET", "/again ")
	waitFor(t, "both parked again", func() bool { return parkedCount(fe) == 2 })
}

// TestParkingsGiveMemoryBack: after enough connections were parked, the
// watchdog gives the freed memory back to the system once, and not again
// within releaseEvery however many more are parked.
func TestParkingsGiveMemoryBack(t *testing.T) {
	var releases atomic.Int32
	_, fe := newParkingFront(t, Options{ParkIdleAbove: 1, releaseAfterParks: 20, releaseMemory: func() { releases.Add(1) }})
	addr := fe.Addr().String()
	round := func(conns []net.Conn, brs []*bufio.Reader, tag string) {
		for i, c := range conns {
			_, _ = fmt.Fprintf(c, "GET /%s%d HTTP/1.1\r\nHost: x\r\n\r\n", tag, i)
			wantAnswer(t, brs[i], "GET", fmt.Sprintf("/%s%d ", tag, i))
		}
	}
	var conns []net.Conn
	var brs []*bufio.Reader
	for range 15 {
		c, br := rawConn(t, addr)
		conns, brs = append(conns, c), append(brs, br)
	}
	round(conns, brs, "a")
	waitFor(t, "15 parked", func() bool { return parkedCount(fe) >= 14 })
	time.Sleep(3 * watchTick)
	if n := releases.Load(); n != 0 {
		t.Fatalf("memory given back after %d parkings, want none before 20", fe.park.Load().parks.Load())
	}
	round(conns, brs, "b")
	waitFor(t, "memory given back after 20 parkings", func() bool { return releases.Load() == 1 })
	round(conns, brs, "c")
	round(conns, brs, "d")
	time.Sleep(3 * watchTick)
	if n := releases.Load(); n != 1 {
		t.Fatalf("memory given back %d times within releaseEvery, want once", n)
	}
}
