package router

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// timedFront starts a router whose fast front end has a 200 ms head
// timeout, the given body timeout and a one-minute idle timeout, in front
// of a target that answers with the length of the body it read.
func timedFront(t *testing.T, body time.Duration) *frontEnd {
	t.Helper()
	b := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
		}
		_, _ = io.WriteString(w, itoa(n))
	})
	_, srv := newTestRouter(t, Options{
		Blue:                []string{b.URL},
		ClientHeaderTimeout: 200 * time.Millisecond,
		ClientBodyTimeout:   body,
		ClientIdleTimeout:   time.Minute,
	})
	return frontOf(t, srv.Listener)
}

// readClosed reads from a connection the front end should close, and
// returns how long that took; a connection still open after 3 s fails.
func readClosed(t *testing.T, r io.Reader, conn interface{ SetReadDeadline(time.Time) error }) time.Duration {
	t.Helper()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(3 * time.Second))
	b, err := io.ReadAll(r)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open after %s (read %q)", time.Since(start), b)
	}
	return time.Since(start)
}

// TestFrontEndSlowUploadOutlastsHeadTimeout: the head timeout ends with
// the head. A body sent slowly, for four head timeouts, is read whole
// whether the head came in one piece on a new connection, in two pieces,
// or on a connection that carried a request before.
func TestFrontEndSlowUploadOutlastsHeadTimeout(t *testing.T) {
	for _, bodyTimeout := range []time.Duration{0, 5 * time.Second} {
		fe := timedFront(t, bodyTimeout)
		for _, how := range []string{"whole head", "head in two pieces", "keep-alive"} {
			t.Run(how+" body timeout "+bodyTimeout.String(), func(t *testing.T) {
				c, br := rawConn(t, fe.Addr().String())
				if how == "keep-alive" {
					_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
					readAnswer(t, br, "GET")
				}
				head := "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n"
				if how == "head in two pieces" {
					_, _ = io.WriteString(c, head[:20])
					time.Sleep(50 * time.Millisecond) // a slow client
					head = head[20:]
				}
				_, _ = io.WriteString(c, head)
				for range 8 {
					time.Sleep(100 * time.Millisecond) // a slow upload
					if _, err := io.WriteString(c, "u"); err != nil {
						t.Fatalf("upload cut: %v", err)
					}
				}
				if resp, body := readAnswer(t, br, "POST"); resp.StatusCode != http.StatusOK || body != "8" {
					t.Fatalf("slow upload: %d %q, want 200 \"8\"", resp.StatusCode, body)
				}
			})
		}
	}
}

// TestFrontEndBodyTimeout: a body that stops coming is cut at the body
// timeout, with 400, and the connection closes.
func TestFrontEndBodyTimeout(t *testing.T) {
	fe := timedFront(t, 500*time.Millisecond)
	c, br := rawConn(t, fe.Addr().String())
	_, _ = io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial")
	resp, _ := readAnswer(t, br, "POST")
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("stalled body: %d, want 400", resp.StatusCode)
	}
	readClosed(t, br, c)
}

// TestFrontEndSilentConnection: a new connection that sends nothing, and
// one that sends part of a head and stops, are closed after the head
// timeout, not held for the idle timeout. A keep-alive connection between
// requests waits longer than that: the idle timeout applies.
func TestFrontEndSilentConnection(t *testing.T) {
	fe := timedFront(t, 0)
	for _, sent := range []string{"", "GET / HTTP/1.1\r\nHost"} {
		c, br := rawConn(t, fe.Addr().String())
		_, _ = io.WriteString(c, sent)
		if d := readClosed(t, br, c); d > 2*time.Second {
			t.Fatalf("after %q: closed after %s, want about 200ms", sent, d)
		}
	}
	c, br := rawConn(t, fe.Addr().String())
	for i := range 2 {
		if i > 0 {
			time.Sleep(400 * time.Millisecond) // idle for twice the head timeout
		}
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if resp, _ := readAnswer(t, br, "GET"); resp.StatusCode != http.StatusOK || strings.Contains(resp.Header.Get("Connection"), "close") {
			t.Fatalf("request %d on a keep-alive connection: %d", i, resp.StatusCode)
		}
	}
}
