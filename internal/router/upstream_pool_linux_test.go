//go:build linux

package router

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"unsafe"
)

// twiceBackend is a raw TCP target that answers every request with its
// path, and answers a request for /twice a second time, unasked, as a
// target does that answers a request whose body it never read.
type twiceBackend struct {
	url      string
	late     bool              // the second answer waits for sendExtra
	extra    chan struct{}     // sendExtra's go-ahead
	done     chan struct{}     // closed when the test ends
	sent     chan *net.TCPConn // the connection the second answer went out on
	accepted atomic.Int64
	closed   atomic.Int64 // connections the router closed

	mu    sync.Mutex
	conns []net.Conn
}

func newTwiceBackend(t *testing.T, late bool) *twiceBackend {
	t.Helper()
	ln := newLoopbackListener(t)
	b := &twiceBackend{url: "http://" + ln.Addr().String(), late: late, extra: make(chan struct{}), done: make(chan struct{}), sent: make(chan *net.TCPConn, 1)}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		close(b.done)
		b.mu.Lock()
		for _, c := range b.conns {
			_ = c.Close()
		}
		b.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.accepted.Add(1)
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
			wg.Go(func() { b.serve(c.(*net.TCPConn)) })
		}
	})
	return b
}

func answer(body string) string {
	return "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func (b *twiceBackend) serve(c *net.TCPConn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			b.closed.Add(1)
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		out := answer(req.URL.Path)
		if req.URL.Path == "/twice" && !b.late {
			out += answer("unasked")
		}
		if _, err := io.WriteString(c, out); err != nil {
			return
		}
		if req.URL.Path == "/twice" && b.late {
			select {
			case <-b.extra:
			case <-b.done:
				return
			}
			_, _ = io.WriteString(c, answer("unasked"))
			b.sent <- c
		}
	}
}

// sendExtra makes the late second answer go out and waits until the
// router's kernel has it.
func (b *twiceBackend) sendExtra(t *testing.T) {
	t.Helper()
	close(b.extra)
	waitAcked(t, <-b.sent)
}

// waitAcked waits until the peer acknowledged everything written on c: the
// bytes sit in the peer's receive queue.
func waitAcked(t *testing.T, c *net.TCPConn) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the peer to acknowledge", func() bool {
		var queued int32
		_ = rc.Control(func(fd uintptr) {
			_, _, _ = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&queued)))
		})
		return queued == 0
	})
}

// TestPoolDropsAConnectionWithUnaskedBytes: a target answers one request
// twice, the second answer arriving with the first (in one read) or after
// the connection went back to the pool. The next client, on another
// connection, gets its own answer, and the connection carrying the unasked
// answer is closed, never reused.
func TestPoolDropsAConnectionWithUnaskedBytes(t *testing.T) {
	for _, late := range []bool{false, true} {
		name := "same read"
		if late {
			name = "late"
		}
		t.Run(name, func(t *testing.T) {
			up := newTwiceBackend(t, late)
			_, srv := newTestRouter(t, Options{Blue: []string{up.url}})
			first := &http.Client{Transport: &http.Transport{}}
			second := &http.Client{Transport: &http.Transport{}}
			t.Cleanup(first.CloseIdleConnections)
			t.Cleanup(second.CloseIdleConnections)
			if code, _, body := get(t, first, srv.URL+"/twice"); code != http.StatusOK || body != "/twice" {
				t.Fatalf("GET /twice: %d %q", code, body)
			}
			if late {
				up.sendExtra(t)
			}
			for _, path := range []string{"/next", "/after"} {
				if code, _, body := get(t, second, srv.URL+path); code != http.StatusOK || body != path {
					t.Fatalf("GET %s from another client: %d %q, want 200 %q", path, code, body, path)
				}
			}
			waitFor(t, "the poisoned connection to close", func() bool { return up.closed.Load() == 1 })
			if n := up.accepted.Load(); n != 2 {
				t.Fatalf("target accepted %d connections, want 2", n)
			}
		})
	}
}
