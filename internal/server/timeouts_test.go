package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// serveAPI serves h with the API's server and the given read timeout on a
// real loopback listener.
func serveAPI(t *testing.T, h http.Handler, readTimeout time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newAPIServer(h, readTimeout)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestAPIServerDropsSlowClients: a client that stops sending in the middle
// of its headers or its body holds a connection no longer than the read
// timeout (200ms here); the test gives up on the server after 5s.
func TestAPIServerDropsSlowClients(t *testing.T) {
	addr := serveAPI(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}), 200*time.Millisecond)
	for name, partial := range map[string]string{
		"headers": "POST /v1/deployments HTTP/1.1\r\nHost: x\r\n",
		"body":    "POST /v1/deployments HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if _, err := io.WriteString(conn, partial); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		conn.SetReadDeadline(start.Add(5 * time.Second))
		_, err = io.Copy(io.Discard, conn)
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Errorf("stalled %s: the connection is still open after %v", name, time.Since(start).Round(time.Millisecond))
		}
	}
}

// TestAPIServerStreamsOutliveReadTimeout: a followed log keeps streaming
// well past the read timeout; nothing cuts a response short.
func TestAPIServerStreamsOutliveReadTimeout(t *testing.T) {
	const lines = 8
	addr := serveAPI(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := range lines {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
			fmt.Fprintf(w, "line %d\n", i)
			http.NewResponseController(w).Flush()
		}
	}), 100*time.Millisecond)
	resp, err := http.Get("http://" + addr + "/v1/executions/e-1/logs?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	n := 0
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); n++ {
		if want := fmt.Sprintf("line %d", n); sc.Text() != want {
			t.Fatalf("read %q, want %q", sc.Text(), want)
		}
	}
	if n != lines {
		t.Fatalf("stream cut after %d of %d lines", n, lines)
	}
}

func TestLoadOrCreateToken(t *testing.T) {
	dir := t.TempDir() + "/state"
	tok, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 64 {
		t.Errorf("token %d characters, want 64 hex digits", len(tok))
	}
	fi, err := os.Stat(dir + "/" + TokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	if again, err := LoadOrCreateToken(dir); err != nil || again != tok {
		t.Errorf("second start: %v, %v; want the same token", err, again == tok)
	}
	if other, _ := LoadOrCreateToken(t.TempDir()); other == tok {
		t.Error("two state directories got the same token")
	}
	for name, tc := range map[string]struct {
		content string
		mode    os.FileMode
		want    string
	}{
		"readable by others": {tok + "\n", 0o644, "mode 0644"},
		"writable by group":  {tok + "\n", 0o620, "mode 0620"},
		"empty":              {"\n", 0o600, "one token on one line"},
		"two tokens":         {"a b\n", 0o600, "one token on one line"},
	} {
		d := t.TempDir()
		if err := os.WriteFile(d+"/"+TokenFile, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d+"/"+TokenFile, tc.mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateToken(d)
		if !errors.Is(err, ErrTokenFile) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrTokenFile saying %q", name, err, tc.want)
		}
	}
}
