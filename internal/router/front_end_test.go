package router

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// frontOf returns the fast front end behind a test server, skipping the
// test when the suite runs with -nethttp.
func frontOf(t *testing.T, ln net.Listener) *frontEnd {
	t.Helper()
	fe, ok := ln.(*frontEnd)
	if !ok {
		t.Skip("front end disabled by -nethttp")
	}
	return fe
}

// rawConn dials addr and returns the connection and a reader of answers.
func rawConn(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// readAnswer reads one response and its body.
func readAnswer(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(body)
}

// fastConns counts the connections the front end serves itself.
func (fe *frontEnd) fastConns() int {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	return len(fe.conns)
}

func TestFrontEndServesFastThenHandsOff(t *testing.T) {
	b := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(body)+" te="+strings.Join(r.TransferEncoding, ","))
	})
	_, srv := newTestRouter(t, Options{Blue: []string{b.URL}})
	fe := frontOf(t, srv.Listener)
	c, br := rawConn(t, fe.Addr().String())

	// Two pipelined simple requests, one with a body: both on the fast path.
	_, _ = io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	if resp, body := readAnswer(t, br, "GET"); resp.StatusCode != 200 || body != "GET /a  te=" {
		t.Fatalf("first pipelined answer: %d %q", resp.StatusCode, body)
	}
	if resp, body := readAnswer(t, br, "POST"); resp.StatusCode != 200 || body != "POST /b hello te=" {
		t.Fatalf("second pipelined answer: %d %q", resp.StatusCode, body)
	}
	if n := fe.fastConns(); n != 1 {
		t.Fatalf("fast connections %d, want 1", n)
	}
	// A chunked body is not for the fast path: net/http takes the
	// connection over, bytes already read included, and keeps it.
	_, _ = io.WriteString(c, "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /d HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := readAnswer(t, br, "POST"); resp.StatusCode != 200 || body != "POST /c abc te=chunked" {
		t.Fatalf("handed-off chunked request: %d %q", resp.StatusCode, body)
	}
	if resp, body := readAnswer(t, br, "GET"); resp.StatusCode != 200 || body != "GET /d  te=" {
		t.Fatalf("request after the hand-off: %d %q", resp.StatusCode, body)
	}
	waitFor(t, "hand-off", func() bool { return fe.fastConns() == 0 })
}

// TestFrontEndRejectsAmbiguousRequests sends request smuggling shapes and
// malformed heads, each followed by the bytes of another request. The
// front end hands them to net/http: the refused ones get their 400 or 431
// and the request hidden behind them never reaches the target; the ones
// net/http accepts (bare LF, line folding) are framed as net/http frames
// them, so what follows the body is a second, ordinary request.
func TestFrontEndRejectsAmbiguousRequests(t *testing.T) {
	var hidden atomic.Int64
	b := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/hidden" {
			hidden.Add(1)
		}
	})
	_, srv := newTestRouter(t, Options{Blue: []string{b.URL}})
	fe := frontOf(t, srv.Listener)
	next := "GET /hidden HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, tc := range []struct {
		name, head string
		want       int
	}{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"conflicting CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\n", 400},
		{"CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 40\r\n\r\n", 400},
		{"signed CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\n", 400},
		{"space before colon", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 4\r\n\r\n", 400},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400},
		{"two hosts", "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"bad method", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"oversized head", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n", 431},
		{"bare LF (accepted)", "POST / HTTP/1.1\nHost: x\nContent-Length: 4\n\n", 200},
		{"folded line (accepted)", "POST / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\nContent-Length: 4\r\n\r\n", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hidden.Store(0)
			c, br := rawConn(t, fe.Addr().String())
			go func() { _, _ = io.WriteString(c, tc.head+"abcd"+next) }()
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want != 200 {
				time.Sleep(50 * time.Millisecond)
				if n := hidden.Load(); n != 0 {
					t.Fatalf("the request behind a refused one reached the target %d times", n)
				}
				return
			}
			if resp, _ := readAnswer(t, br, "GET"); resp.StatusCode != 200 || hidden.Load() != 1 {
				t.Fatalf("request after an accepted one: %d, target saw it %d times", resp.StatusCode, hidden.Load())
			}
		})
	}
}

func TestFrontEndIdleTimeoutAndShutdown(t *testing.T) {
	release := make(chan struct{})
	b := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	})
	newRouter := func(opts Options) *Router {
		rt, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rt.Close() })
		return rt
	}
	rt := newRouter(Options{Blue: []string{b.URL}, ClientIdleTimeout: 200 * time.Millisecond})
	short := rt.newFrontEnd(newLoopbackListener(t), rt.Handler(Production))
	t.Cleanup(func() { short.shutdown(context.Background()) })
	idle, br := rawConn(t, short.Addr().String())
	_, _ = io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	readAnswer(t, br, "GET")
	start := time.Now()
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("idle connection sent bytes")
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("idle connection closed after %s, want 200-300ms", d)
	}

	// Shutdown: an idle connection closes at once, a request in flight
	// finishes and is told the connection closes.
	rt = newRouter(Options{Blue: []string{b.URL}, ClientIdleTimeout: time.Minute})
	fe := rt.newFrontEnd(newLoopbackListener(t), rt.Handler(Production))
	addr := fe.Addr().String()
	slow, slowBR := rawConn(t, addr)
	_, _ = io.WriteString(slow, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	idle2, idleBR := rawConn(t, addr)
	_, _ = io.WriteString(idle2, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	readAnswer(t, idleBR, "GET")
	waitFor(t, "slow request in flight", func() bool { return b.hits.Load() == 3 })
	done := make(chan struct{})
	go func() {
		defer close(done)
		fe.shutdown(context.Background())
	}()
	if _, err := idleBR.ReadByte(); err == nil {
		t.Fatal("idle connection not closed by shutdown")
	}
	close(release)
	resp, body := readAnswer(t, slowBR, "GET")
	if resp.StatusCode != 200 || body != "ok" || !resp.Close {
		t.Fatalf("in-flight answer during shutdown: %d %q close=%v", resp.StatusCode, body, resp.Close)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not return")
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("listener open after shutdown")
	}
}

// TestFrontEndLargeBodies streams a large Content-Length upload and a large
// download through the fast path, on one keep-alive connection.
func TestFrontEndLargeBodies(t *testing.T) {
	b := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/download" {
			w.Header().Set("Content-Length", itoa(8<<20))
			chunk := bytes.Repeat([]byte("z"), 64<<10)
			for range 128 {
				_, _ = w.Write(chunk)
			}
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, itoa(n))
	})
	_, srv := newTestRouter(t, Options{Blue: []string{b.URL}})
	fe := frontOf(t, srv.Listener)
	c, br := rawConn(t, fe.Addr().String())
	const size = 4 << 20
	go func() {
		_, _ = io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: "+itoa(size)+"\r\n\r\n")
		_, _ = c.Write(bytes.Repeat([]byte("u"), size))
		_, _ = io.WriteString(c, "GET /download HTTP/1.1\r\nHost: x\r\n\r\n")
	}()
	if resp, body := readAnswer(t, br, "POST"); resp.StatusCode != 200 || body != itoa(size) {
		t.Fatalf("upload: %d %q", resp.StatusCode, body)
	}
	if resp, body := readAnswer(t, br, "GET"); resp.StatusCode != 200 || len(body) != 8<<20 {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(body))
	}
	if n := fe.fastConns(); n != 1 {
		t.Fatalf("fast connections %d, want 1", n)
	}
}

// TestFrontEndAnswerBeforeBody: when the router answers without reading a
// large body (no healthy target here), the client still gets the whole
// answer and the connection closes.
func TestFrontEndAnswerBeforeBody(t *testing.T) {
	_, srv := newTestRouter(t, Options{})
	fe := frontOf(t, srv.Listener)
	c, br := rawConn(t, fe.Addr().String())
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\npartial")
	resp, body := readAnswer(t, br, "POST")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "no healthy target") {
		t.Fatalf("answer %d %q", resp.StatusCode, body)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("connection still open with an unread body")
	}
}

func TestFrontEndRelaysTrailers(t *testing.T) {
	b := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		if r.URL.Path == "/body" {
			_, _ = io.WriteString(w, "payload")
		}
		w.Header().Set("X-Checksum", "abc")
	})
	_, srv := newTestRouter(t, Options{Blue: []string{b.URL}})
	for _, path := range []string{"/body", "/empty"} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Trailer.Get("X-Checksum"); got != "abc" {
			t.Fatalf("%s: trailer %q (body %q), want abc", path, got, body)
		}
	}
}

func TestScanHead(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest", 27},
		{"GET / HTTP/1.1\r\nHost: x\r\n", 0},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r", 0},
		{"GET / HTTP/1.1\r", 0},
		{"GET / HTTP/1.1\r\nHost: x\n\r\n", -1},
		{"GET / HTTP/1.1\r\nHo\rst: x\r\n\r\n", -1},
		{"GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", -1},
		{"\r\nGET / HTTP/1.1\r\n\r\n", -1},
		{"GET /\x00 HTTP/1.1\r\n\r\n", -1},
	} {
		if got := scanHead([]byte(tc.in)); got != tc.want {
			t.Errorf("scanHead(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// FuzzFrontEndFraming checks that whenever the fast path accepts a request,
// net/http reading the same bytes from a stream takes the same request
// head, to the byte, with the same method, target, host, headers and body
// length: the two paths can never frame a request differently.
func FuzzFrontEndFraming(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /p?q=1 HTTP/1.1\r\nHost: a.b:80\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-A: b\r\n\tc\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"GET http://x/ HTTP/1.1\r\nHost: y\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	c := &frontConn{ctx: context.Background()}
	c.initParse()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > connBufSize {
			data = data[:connBufSize]
		}
		end := scanHead(data)
		if end > len(data) {
			t.Fatalf("head end %d past %d bytes", end, len(data))
		}
		if end <= 0 {
			return
		}
		req, fast := c.parseHead(data[:end])
		if !fast {
			return
		}
		br := bufio.NewReaderSize(bytes.NewReader(data), 16)
		ref, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("fast path took a request net/http refuses: %v", err)
		}
		if ref.Method != req.Method || ref.RequestURI != req.RequestURI || ref.Host != req.Host ||
			ref.ContentLength != req.ContentLength || ref.Close != req.Close || len(ref.Header) != len(req.Header) {
			t.Fatalf("fast path read %+v, net/http %+v", req, ref)
		}
		for k, vv := range ref.Header {
			if strings.Join(vv, "\n") != strings.Join(req.Header[k], "\n") {
				t.Fatalf("header %s: fast %q, net/http %q", k, req.Header[k], vv)
			}
		}
		// net/http's head ends where the fast path's does: its body and
		// what follows are exactly the bytes after the fast path's head.
		body, err := io.ReadAll(ref.Body)
		if err != nil {
			return // the body is cut short in data
		}
		rest, _ := io.ReadAll(br)
		if int64(len(body)) != req.ContentLength || !bytes.Equal(append(body, rest...), data[end:]) {
			t.Fatalf("net/http framed the request differently: body %q rest %q after a %d-byte head", body, rest, end)
		}
	})
}

// TestFrontEndWatchedRequest covers a request long enough for the watchdog
// to look at its client: the request pipelined behind it (bytes the
// watchdog's peek finds waiting) is served on the same connection, in
// order, and the idle timeout still counts from the answer.
func TestFrontEndWatchedRequest(t *testing.T) {
	release := make(chan struct{})
	b := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		_, _ = io.WriteString(w, r.URL.Path)
	})
	rt, err := New(Options{Blue: []string{b.URL}, ClientIdleTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	fe := rt.newFrontEnd(newLoopbackListener(t), rt.Handler(Production))
	t.Cleanup(func() { fe.shutdown(context.Background()) })
	conn, br := rawConn(t, fe.Addr().String())
	_, _ = io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	var fc *frontConn
	waitFor(t, "the slow request in flight", func() bool {
		fe.mu.Lock()
		defer fe.mu.Unlock()
		for c := range fe.conns {
			fc = c
		}
		return fc != nil && fc.state.Load() == connBusy
	})
	// The next request arrives while the slow one is in flight, and stays
	// there through two of the watchdog's looks.
	_, _ = io.WriteString(conn, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	seen := 0
	for last := fc.seq.Load(); seen < 2; {
		waitFor(t, "the watchdog's tick", func() bool {
			fe.mu.Lock()
			defer fe.mu.Unlock()
			return fc.watchSeen == last
		})
		seen++
		time.Sleep(watchTick)
	}
	if err := fc.ctx.Err(); err != nil {
		t.Fatalf("a pipelined request cancelled the one in flight: %v", err)
	}
	close(release)
	for _, want := range []string{"/slow", "/next"} {
		if resp, body := readAnswer(t, br, "GET"); resp.StatusCode != 200 || body != want {
			t.Fatalf("answer %d %q, want 200 %q", resp.StatusCode, body, want)
		}
	}
	// A third request after the answers, then idle: closed 300-450 ms later.
	_, _ = io.WriteString(conn, "GET /third HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := readAnswer(t, br, "GET"); resp.StatusCode != 200 || body != "/third" {
		t.Fatalf("third answer %d %q", resp.StatusCode, body)
	}
	start := time.Now()
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("idle connection sent bytes")
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("idle connection closed after %s, want 300-450ms", d)
	}
}
