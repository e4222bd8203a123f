package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestVersionResolution(t *testing.T) {
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	old := version
	t.Cleanup(func() { version = old })

	version = ""
	if got := resolveVersion(env(nil)); got != "0.0.0-dev" {
		t.Errorf("no env, no stamp: got %q, want 0.0.0-dev", got)
	}
	version = "1.2.3"
	if got := resolveVersion(env(nil)); got != "1.2.3" {
		t.Errorf("stamp: got %q, want 1.2.3", got)
	}
	if got := resolveVersion(env(map[string]string{"VERSION": "2.0.0"})); got != "2.0.0" {
		t.Errorf("env wins over stamp: got %q, want 2.0.0", got)
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(newHandler("1.2.3"))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		path, want string
		code       int
	}{
		{"/", "Version: 1.2.3\n", 200},
		{"/healthz", "ok\n", 200},
		{"/nope", "404 page not found\n", 404},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || string(body) != tc.want {
			t.Errorf("GET %s = %d %q, want %d %q", tc.path, resp.StatusCode, body, tc.code, tc.want)
		}
		if v := resp.Header.Get("X-Version"); v != "1.2.3" {
			t.Errorf("GET %s: X-Version %q, want 1.2.3", tc.path, v)
		}
	}
}

// TestSIGTERMDrainsInFlight builds the real binary, starts it, opens a slow
// request, sends SIGTERM and checks the request completes and the exit is 0.
func TestSIGTERMDrainsInFlight(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hello")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=9.9.9", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{fmt.Sprintf("PORT=%d", port), "HOST=127.0.0.1"}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "listening") {
			break
		}
	}
	go io.Copy(io.Discard, stderr)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "Version: 9.9.9\n" {
		t.Fatalf("GET / = %q, want stamped version", body)
	}

	// A request in flight: headers sent, body still coming. The server must
	// wait for it to finish after SIGTERM.
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
	time.Sleep(50 * time.Millisecond) // let the server start reading the request
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	fmt.Fprintf(conn, "cde")
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("in-flight request got no answer after SIGTERM: %v", err)
	}
	if !strings.HasPrefix(reply, "HTTP/1.1 405") {
		t.Errorf("in-flight request answered %q, want the server's own 405 for POST /", reply)
	}
	conn.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want 0", err)
	}
}

func TestFault(t *testing.T) {
	for _, tc := range []struct {
		fault            string
		rootCode, health int
	}{
		{"", 200, 200},
		{"5xx", 500, 200},
		{"error", 500, 200},
		{"unhealthy", 500, 500},
		{"typo", 200, 200},
	} {
		srv := httptest.NewServer(withFault(tc.fault, newHandler("1.0.0")))
		for path, want := range map[string]int{"/": tc.rootCode, "/healthz": tc.health} {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("FAULT=%q: GET %s = %d, want %d", tc.fault, path, resp.StatusCode, want)
			}
		}
		srv.Close()
	}
}
