package router

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// closingBackend answers the first request on each connection completely,
// advertising keep-alive, then reads the next request and closes the
// connection without answering it: the proxy's pooled connection looked
// alive when it was taken, and broke once the request was out.
func closingBackend(t *testing.T, hits *atomic.Int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				hits.Add(1)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Backend: closing\r\n\r\nok")
				if req, err = http.ReadRequest(br); err == nil {
					_, _ = io.Copy(io.Discard, req.Body)
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestStaleKeepAliveConnection(t *testing.T) {
	var hits atomic.Int64
	rt, srv := newTestRouter(t, Options{Blue: []string{closingBackend(t, &hits)}})
	for i := range 3 {
		if code, _, body := get(t, srv.Client(), srv.URL+"/"); code != http.StatusOK || body != "ok" {
			t.Fatalf("GET %d over a stale pooled connection: %d %q", i, code, body)
		}
	}
	// A POST with a body on a stale connection is not replayed: the bytes
	// may have reached the target.
	resp, err := srv.Client().Post(srv.URL+"/", "text/plain", strings.NewReader("once"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("POST over a stale connection: %d, want 502", resp.StatusCode)
	}
	if hits.Load() != 3 {
		t.Fatalf("target saw %d requests, want 3", hits.Load())
	}
	if m := rt.Metrics().Blue; m.UpstreamErrors != 1 {
		t.Fatalf("upstream errors %d, want 1 (the POST)", m.UpstreamErrors)
	}
}

func TestHeadAndNoContent(t *testing.T) {
	b := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/empty" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Length", "5")
		_, _ = io.WriteString(w, "hello")
	})
	_, srv := newTestRouter(t, Options{Blue: []string{b.URL}})
	for range 2 {
		resp, err := srv.Client().Head(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ContentLength != 5 {
			t.Fatalf("HEAD: %d length %d", resp.StatusCode, resp.ContentLength)
		}
		if code, _, body := get(t, srv.Client(), srv.URL+"/empty"); code != http.StatusNoContent || body != "" {
			t.Fatalf("204: %d %q", code, body)
		}
		if code, _, body := get(t, srv.Client(), srv.URL+"/"); code != http.StatusOK || body != "hello" {
			t.Fatalf("GET after HEAD on the same connections: %d %q", code, body)
		}
	}
}

func TestServeListenersAndShutdown(t *testing.T) {
	blue := newBackend(t, "blue", nil)
	green := newBackend(t, "green", nil)
	rt, err := New(Options{Blue: []string{blue.URL}, Green: []string{green.URL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	prod, _ := net.Listen("tcp", "127.0.0.1:0")
	test, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- rt.Serve(ctx, prod, test) }()
	client := &http.Client{}
	if _, who, _ := get(t, client, "http://"+prod.Addr().String()+"/"); who != "blue" {
		t.Fatalf("production listener went to %s", who)
	}
	if _, who, _ := get(t, client, "http://"+test.Addr().String()+"/"); who != "green" {
		t.Fatalf("test listener went to %s", who)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := net.Dial("tcp", prod.Addr().String()); err == nil {
		t.Fatal("production listener still open after shutdown")
	}
}

// TestIdleConnectionClosedByTarget: a target closes keep-alive connections
// idle for 200 ms, as servers do on their own schedules. A POST after it
// closed the pooled connection is sent on a fresh connection, not on the
// closed one (which would have cost the client a 502).
func TestIdleConnectionClosedByTarget(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(append([]byte("got "), body...))
	}))
	srv.Config.IdleTimeout = 200 * time.Millisecond
	var closed atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	rt, front := newTestRouter(t, Options{Blue: []string{srv.URL}})
	if code, _, body := get(t, front.Client(), front.URL+"/"); code != http.StatusOK || body != "got" {
		t.Fatalf("first GET: %d %q", code, body)
	}
	waitFor(t, "the target to close the idle connection", func() bool { return closed.Load() == 1 })
	resp, err := front.Client().Post(front.URL+"/", "text/plain", strings.NewReader("once"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "got once" {
		t.Fatalf("POST after the target closed the idle connection: %d %q", resp.StatusCode, body)
	}
	if hits.Load() != 2 || rt.Metrics().Blue.UpstreamErrors != 0 {
		t.Fatalf("target saw %d requests, upstream errors %d; want 2 and 0", hits.Load(), rt.Metrics().Blue.UpstreamErrors)
	}
}
