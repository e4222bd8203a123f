package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveOn starts a router with opts serving ln until the test ends.
func serveOn(t *testing.T, ln net.Listener, opts Options) *Router {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.DeregistrationDelay = 100 * time.Millisecond
	rt, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = rt.Close()
	})
	return rt
}

// TestTwoProxyLoopAnswers508 points two routers at each other (A's only
// target is B, B's is A) over real sockets: the request that comes back to
// A is answered 508 at once instead of going round until sockets and
// memory run out. The client gives up after two seconds, which only a
// loop takes.
func TestTwoProxyLoopAnswers508(t *testing.T) {
	lnA, lnB := newLoopbackListener(t), newLoopbackListener(t)
	serveOn(t, lnA, Options{Blue: []string{"http://" + lnB.Addr().String()}})
	serveOn(t, lnB, Options{Blue: []string{"http://" + lnA.Addr().String()}})
	client := &http.Client{Timeout: 2 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	resp, err := client.Get("http://" + lnA.Addr().String() + "/")
	if err != nil {
		t.Fatalf("GET through A -> B -> A: %v (the request went round the loop)", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusLoopDetected || !strings.Contains(string(body), "loop detected") {
		t.Fatalf("A -> B -> A answered %d %q, want 508 loop detected", resp.StatusCode, body)
	}
}

// TestForwardedRequestsCarryVia checks that both the fast path and the
// upgrade path name the router in Via after the entries the request came
// with, and that a chain of two distinct routers is not taken for a loop.
func TestForwardedRequestsCarryVia(t *testing.T) {
	seen := make(chan []string, 1)
	up := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) { seen <- r.Header.Values("Via") })
	lnA, lnB := newLoopbackListener(t), newLoopbackListener(t)
	a := serveOn(t, lnA, Options{Blue: []string{"http://" + lnB.Addr().String()}})
	b := serveOn(t, lnB, Options{Blue: []string{up.URL}})
	client := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	req, _ := http.NewRequest(http.MethodGet, "http://"+lnA.Addr().String()+"/", nil)
	req.Header.Set("Via", "1.1 edge")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	via := strings.Join(<-seen, ", ")
	want := "1.1 edge, 1.1 " + a.viaName + ", 1.1 " + b.viaName
	if resp.StatusCode != http.StatusOK || via != want {
		t.Fatalf("A -> B -> backend: %d, Via %q, want 200 and %q", resp.StatusCode, via, want)
	}
	if a.viaName == b.viaName {
		t.Fatalf("two routers share the Via name %s", a.viaName)
	}
}

// TestRegisterRefusesOwnListener checks that once a router serves on a
// listener, a target reaching that listener (by address or as localhost)
// is refused, and that an unrelated port is not.
func TestRegisterRefusesOwnListener(t *testing.T) {
	ln := newLoopbackListener(t)
	rt := serveOn(t, ln, Options{})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	// An answer (503: no target) means Serve is serving, so it has
	// recorded its listener.
	if code, _, _ := get(t, http.DefaultClient, "http://"+ln.Addr().String()+"/"); code != http.StatusServiceUnavailable {
		t.Fatalf("empty router answered %d", code)
	}
	for _, target := range []string{"http://127.0.0.1:" + port, "http://localhost:" + port, "http://0.0.0.0:" + port} {
		if err := rt.Register(Green, target); !errors.Is(err, ErrSelfTarget) {
			t.Errorf("Register(%s) = %v, want ErrSelfTarget", target, err)
		}
	}
	if len(rt.Snapshot().Green.Targets) != 0 {
		t.Fatalf("a refused target was registered: %+v", rt.Snapshot().Green.Targets)
	}
	other := newLoopbackListener(t)
	t.Cleanup(func() { other.Close() })
	if err := rt.Register(Green, "http://"+other.Addr().String()); err != nil {
		t.Fatalf("Register(other port) = %v", err)
	}
}

// TestSameEndpoint is SameEndpoint's table: what a connection to a target
// reaches, without DNS.
func TestSameEndpoint(t *testing.T) {
	for _, tc := range []struct {
		listen, target string
		want           bool
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"127.0.0.1:8080", "http://localhost:8080", true},
		{"localhost:8080", "http://127.0.0.1:8080", true},
		{"localhost:8080", "http://[::1]:8080", true},
		{"0.0.0.0:8080", "http://127.0.0.1:8080", true},
		{"0.0.0.0:8080", "http://localhost:8080", true},
		{":8080", "http://127.0.0.1:8080", true},
		{"[::]:8080", "http://127.0.0.1:8080", true},
		{"127.0.0.1:8080", "http://0.0.0.0:8080", true},
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"example.com:8080", "http://EXAMPLE.com:8080", true},
		{"127.0.0.1:8080", "http://127.0.0.1:8081", false},
		{"127.0.0.1:8080", "http://127.0.0.2:8080", false},
		{"127.0.0.1:0", "http://127.0.0.1:0", false},
		{"127.0.0.1:8080", "http://example.com:8080", false},
		{"10.1.2.3:8080", "http://127.0.0.1:8080", false},
		{"nonsense", "http://127.0.0.1:8080", false},
		{"127.0.0.1:8080", "nonsense", false},
	} {
		if got := SameEndpoint(tc.listen, tc.target); got != tc.want {
			t.Errorf("SameEndpoint(%q, %q) = %t, want %t", tc.listen, tc.target, got, tc.want)
		}
	}
}

// FuzzSameEndpoint checks that SameEndpoint never panics, is false for
// different ports, and is true for an address against itself.
func FuzzSameEndpoint(f *testing.F) {
	f.Add("127.0.0.1:8080", "http://localhost:8080")
	f.Add("[::]:1", "http://[::ffff:127.0.0.1]:1")
	f.Add(":80", "http://:80")
	f.Fuzz(func(t *testing.T, listen, target string) {
		got := SameEndpoint(listen, target)
		_, lp, err1 := net.SplitHostPort(listen)
		_, tp, err2 := net.SplitHostPort(strings.TrimPrefix(target, "http://"))
		if got && (err1 != nil || err2 != nil || lp != tp) {
			t.Fatalf("SameEndpoint(%q, %q) true across ports", listen, target)
		}
		if h, p, err := net.SplitHostPort(listen); err == nil && p != "0" && !strings.HasPrefix(h, "http:") &&
			!SameEndpoint(listen, "http://"+net.JoinHostPort(h, p)) && h != "" {
			t.Fatalf("SameEndpoint(%q, itself) false", listen)
		}
	})
}
