package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestProxySecurityScripts runs the scripts in testdata/proxy_security:
// the attacks a web page, a stray client or a misconfiguration can make on
// a running proxy, through the real canaryflow and canaryflow-proxy
// commands and real sockets. Besides the usual commands they have http (a
// client) and echoserver (a backend).
func TestProxySecurityScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/proxy_security",
		RequireExplicitExec: true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"freeports":  freePorts,
			"waitlisten": waitListen,
			"http":       httpRequest,
			"echoserver": echoServer,
		},
	})
}

// httpRequest sends one request and prints the status code on the first
// line of stdout, then the body. The client gives up after 5 seconds, so
// a request that loops fails the script instead of hanging it:
//
//	http [-H Name:value]... METHOD URL [BODY]
//
// A Host header sets the request's Host.
func httpRequest(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: http does not take !")
	}
	var hdr [][2]string
	for len(args) >= 2 && args[0] == "-H" {
		k, v, ok := strings.Cut(args[1], ":")
		if !ok {
			ts.Fatalf("http: -H %q: want Name:value", args[1])
		}
		hdr = append(hdr, [2]string{k, v})
		args = args[2:]
	}
	if len(args) != 2 && len(args) != 3 {
		ts.Fatalf("usage: http [-H Name:value]... METHOD URL [BODY]")
	}
	var body io.Reader
	if len(args) == 3 {
		body = strings.NewReader(args[2])
	}
	req, err := http.NewRequest(args[0], args[1], body)
	ts.Check(err)
	for _, h := range hdr {
		if strings.EqualFold(h[0], "Host") {
			req.Host = h[1]
			continue
		}
		req.Header.Set(h[0], h[1])
	}
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		ts.Fatalf("http %s %s: %v (after %s)", args[0], args[1], err, time.Since(start).Round(time.Millisecond))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%d\n%s", resp.StatusCode, data)
}

// echoServer starts a backend that answers every request with its NAME on
// the first line, then the request's headers, one "Name: value" a line,
// sorted; $NAME is set to its host:port. It stops when the script ends:
//
//	echoserver NAME
func echoServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: echoserver NAME")
	}
	name := args[0]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lines := []string{}
		for k, vv := range r.Header {
			for _, v := range vv {
				lines = append(lines, k+": "+v)
			}
		}
		sort.Strings(lines)
		fmt.Fprintf(w, "%s\n%s\n", name, strings.Join(lines, "\n"))
	}))
	ts.Defer(srv.Close)
	ts.Setenv(name, strings.TrimPrefix(srv.URL, "http://"))
}
