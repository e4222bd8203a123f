package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAPIFollowCutsOffStalledReader: a client that follows a running
// execution's log and stops reading is cut off once a write to it has
// waited WriteTimeout (100ms here); a client that reads gets the whole
// stream however long it lasts.
func TestAPIFollowCutsOffStalledReader(t *testing.T) {
	x, _ := newExecutions(t)
	const logSize = 8 << 20 // more than the server's socket buffer can hold
	release := make(chan struct{})
	stage := Stage{Name: "Build", Run: func(ctx context.Context, e *Execution, log io.Writer) error {
		chunk := bytes.Repeat([]byte("build output ...............................................\n"), 16<<10)
		for n := 0; n < logSize; n += len(chunk) {
			if _, err := log.Write(chunk); err != nil {
				return err
			}
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		fmt.Fprintln(log, "done")
		return nil
	}}
	r, err := NewRunner(RunnerOptions{Executions: x, Stages: []Stage{stage}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&API{Runner: r, Executions: x, Poll: 20 * time.Millisecond, WriteTimeout: 100 * time.Millisecond}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e, _, err := r.Start(context.Background(), rel("v1.0.0"), "manual")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		waitStatus(t, x, e.ID, Succeeded)
	})
	for {
		if l, _ := x.Log(e.ID, ""); len(l) >= logSize {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A small receive buffer, so the server's writes block as soon as
	// this client stops reading.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /v1/executions/%s/logs?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n", e.ID)
	// Stall for several write timeouts, then read what was sent.
	time.Sleep(500 * time.Millisecond)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.Copy(io.Discard, resp.Body)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("a stalled reader still holds the stream after 5s (%d bytes read)", got)
	}
	if got >= logSize {
		t.Fatalf("stalled reader got the whole log (%d bytes); want it cut off", got)
	}

	// A reader that keeps reading gets everything, to the end.
	resp2, err := http.Get(srv.URL + "/v1/executions/" + e.ID + "/logs?follow=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp2.Body.Close() })
	br := bufio.NewReader(resp2.Body)
	if _, err := br.Peek(1); err != nil {
		t.Fatal(err)
	}
	close(release)
	all, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < logSize || !strings.HasSuffix(string(all), "done\n") {
		t.Fatalf("follow read %d bytes ending %q; want the whole log", len(all), all[max(0, len(all)-20):])
	}
}
