package router

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// refusedURL returns an address where nothing listens.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestRefusedConnectionIsRetried(t *testing.T) {
	good := newBackend(t, "good", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	})
	dead := refusedURL(t)
	rt, srv := newTestRouter(t, Options{Blue: []string{dead, good.URL}})
	for i := range 4 {
		code, who, _ := get(t, srv.Client(), srv.URL+"/")
		if code != http.StatusOK || who != "good" {
			t.Fatalf("GET %d: %d from %q", i, code, who)
		}
		// Nothing was sent on a refused connection, so even a POST is retried.
		resp, err := srv.Client().Post(srv.URL+"/", "text/plain", strings.NewReader("payload"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "payload" {
			t.Fatalf("POST %d: %d %q", i, resp.StatusCode, body)
		}
	}
	for _, ts := range rt.Snapshot().Blue.Targets {
		if ts.URL == dead && ts.Counters.UpstreamErrors == 0 {
			t.Errorf("refused target shows no upstream error: %+v", ts)
		}
	}
}

func TestPostNotRetriedAfterBytesSent(t *testing.T) {
	// broken reads the whole request, then drops the connection unanswered.
	broken := newBackend(t, "broken", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	good := newBackend(t, "good", nil)
	_, srv := newTestRouter(t, Options{Blue: []string{broken.URL, good.URL}})
	var codes []int
	for range 2 {
		resp, err := srv.Client().Post(srv.URL+"/", "text/plain", strings.NewReader("charge card"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if broken.hits.Load() != 1 || good.hits.Load() != 1 {
		t.Fatalf("broken %d good %d: a POST was sent twice", broken.hits.Load(), good.hits.Load())
	}
	if codes[0]+codes[1] != http.StatusBadGateway+http.StatusOK || codes[0] == codes[1] {
		t.Fatalf("codes %v, want one 502 and one 200", codes)
	}
}

func TestClientCancelIsLogged499(t *testing.T) {
	arrived := make(chan struct{})
	upstreamSawCancel := make(chan struct{})
	b := newBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
		close(upstreamSawCancel)
	})
	var logs syncBuffer
	rt, srv := newTestRouter(t, Options{Blue: []string{b.URL}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-arrived
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("cancelled request succeeded")
	}
	<-upstreamSawCancel
	waitFor(t, "499 in metrics", func() bool { return rt.Metrics().Blue.ClientCancelled == 1 })
	m := rt.Metrics().Blue
	if m.Responses[3] != 0 || m.UpstreamErrors != 0 {
		t.Fatalf("a client cancel counted as a 5xx or upstream error: %+v", m.Counters)
	}
	if !strings.Contains(logs.String(), "status=499") {
		t.Fatalf("log lacks status=499:\n%s", logs.String())
	}
}

func TestForwardedHeadersAndHopByHop(t *testing.T) {
	b := newBackend(t, "echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Secret-Hop")
		w.Header().Set("X-Secret-Hop", "leak")
		_, _ = io.WriteString(w, strings.Join([]string{r.Host, r.Header.Get("X-Forwarded-For"),
			r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Hop"),
			r.Header.Get("X-Kept")}, "|"))
	})
	_, srv := newTestRouter(t, Options{Blue: []string{b.URL}})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x?y=1", nil)
	req.Host = "shop.example"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "drop me")
	req.Header.Set("X-Kept", "keep me")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "shop.example|203.0.113.9, 127.0.0.1|http|shop.example||keep me"
	if string(body) != want {
		t.Fatalf("upstream saw %q, want %q", body, want)
	}
	if resp.Header.Get("X-Secret-Hop") != "" {
		t.Fatal("hop-by-hop response header leaked")
	}
}

func TestStreamingAndLargeBodies(t *testing.T) {
	next := make(chan struct{})
	b := newBackend(t, "stream", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sse" {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: one\n\n")
			http.NewResponseController(w).Flush()
			<-next
			_, _ = io.WriteString(w, "data: two\n\n")
			return
		}
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		w.Header().Set("X-Length", itoa(n))
		_, _ = io.WriteString(w, hex.EncodeToString(h.Sum(nil)))
	})
	_, srv := newTestRouter(t, Options{Blue: []string{b.URL}})

	resp, err := srv.Client().Get(srv.URL + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first event: %q %v (not flushed at once?)", line, err)
	}
	close(next)
	rest, _ := io.ReadAll(br)
	resp.Body.Close()
	if string(rest) != "\ndata: two\n\n" {
		t.Fatalf("rest of stream %q", rest)
	}

	// A 16 MiB chunked upload streams through and arrives intact.
	pr, pw := io.Pipe()
	sum := sha256.New()
	go func() {
		chunk := []byte(strings.Repeat("canaryflow", 6554))
		for range 256 {
			sum.Write(chunk)
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	resp, err = srv.Client().Post(srv.URL+"/upload", "application/octet-stream", pr)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != hex.EncodeToString(sum.Sum(nil)) || resp.Header.Get("X-Length") != itoa(256*65540) {
		t.Fatalf("upload: %s len %s", got, resp.Header.Get("X-Length"))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestHTTP2WithTLS(t *testing.T) {
	b := newBackend(t, "blue", nil)
	rt, err := New(Options{Blue: []string{b.URL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	srv := httptest.NewUnstartedServer(rt.Handler(Production))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(body) != "blue" {
		t.Fatalf("proto %s body %q", resp.Proto, body)
	}
}

// wsUpstream switches to a raw echo protocol, like a WebSocket server does.
func wsUpstream(t *testing.T, closed chan<- struct{}) *backend {
	return newBackend(t, "ws", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "want upgrade", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		_, _ = io.Copy(conn, brw)
		if closed != nil {
			close(closed)
		}
	})
}

// dialUpgrade opens an upgraded connection through the proxy at addr.
func dialUpgrade(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_, _ = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	_, _ = io.WriteString(conn, "ping\n")
	if line, err := br.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("echo: %q %v", line, err)
	}
	return conn, br
}

func TestUpgrade(t *testing.T) {
	b := wsUpstream(t, nil)
	_, srv := newTestRouter(t, Options{Blue: []string{b.URL}})
	dialUpgrade(t, srv.Listener.Addr().String())
}

func TestResponseTimeoutIs504(t *testing.T) {
	upstreamCancelled := make(chan struct{})
	b := newBackend(t, "hung", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		close(upstreamCancelled)
	})
	rt, srv := newTestRouter(t, Options{Blue: []string{b.URL}, ResponseTimeout: 50 * time.Millisecond})
	code, _, body := get(t, srv.Client(), srv.URL+"/")
	if code != http.StatusGatewayTimeout || !strings.Contains(body, "Gateway Timeout") {
		t.Fatalf("hung target: %d %q", code, body)
	}
	<-upstreamCancelled
	if m := rt.Metrics().Blue; m.Responses[3] != 1 || m.UpstreamErrors != 1 {
		t.Fatalf("a hung target must show as a 5xx and an upstream error: %+v", m.Counters)
	}
}

// TestResponseTimeoutOnAReusedConnection: the deadline a fast response
// leaves on a pooled connection neither cuts a later streamed body nor
// spares a later hung request.
func TestResponseTimeoutOnAReusedConnection(t *testing.T) {
	const timeout = 100 * time.Millisecond
	b := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			_, _ = io.WriteString(w, "first ")
			w.(http.Flusher).Flush()
			time.Sleep(3 * timeout)
			_, _ = io.WriteString(w, "last")
		case "/hung":
			<-r.Context().Done()
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
	_, srv := newTestRouter(t, Options{Blue: []string{b.URL}, ResponseTimeout: timeout})
	client := srv.Client()
	for _, path := range []string{"/fast", "/stream", "/fast", "/fast"} {
		code, _, body := get(t, client, srv.URL+path)
		want := "ok"
		if path == "/stream" {
			want = "first last"
		}
		if code != http.StatusOK || body != want {
			t.Fatalf("%s: %d %q, want 200 %q", path, code, body, want)
		}
	}
	start := time.Now()
	code, _, _ := get(t, client, srv.URL+"/hung")
	if d := time.Since(start); code != http.StatusGatewayTimeout || d < timeout {
		t.Fatalf("hung request after fast ones: %d after %s, want 504 after at least %s", code, d, timeout)
	}
	if got := b.hits.Load(); got != 5 {
		t.Fatalf("backend saw %d requests, want 5", got)
	}
}
