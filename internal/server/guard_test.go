package server

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func testGuard(t testing.TB, addr string, hosts ...string) *guard {
	t.Helper()
	g, err := newGuard("tok", addr, hosts, http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGuardHost(t *testing.T) {
	for _, tc := range []struct {
		bound string
		extra []string
		host  string
		want  bool
	}{
		{"127.0.0.1:7070", nil, "127.0.0.1:7070", true},
		{"127.0.0.1:7070", nil, "localhost:7070", true},
		{"127.0.0.1:7070", nil, "LocalHost:7070", true},
		{"127.0.0.1:7070", nil, "localhost.:7070", true},
		{"127.0.0.1:7070", nil, "dash.localhost:7070", true},
		{"127.0.0.1:7070", nil, "[::1]:7070", true},
		{"127.0.0.1:7070", nil, "127.0.0.2:7070", true},
		{"127.0.0.1:7070", nil, "rebind.example:7070", false},
		{"127.0.0.1:7070", nil, "127.0.0.1.nip.io:7070", false},
		{"127.0.0.1:7070", nil, "localhost.evil.example:7070", false},
		{"127.0.0.1:7070", nil, "127.0.0.1:7071", false},
		{"127.0.0.1:7070", nil, "127.0.0.1", false},
		{"127.0.0.1:7070", nil, "localhost", false},
		{"127.0.0.1:7070", nil, "", false},
		{"127.0.0.1:7070", nil, "10.1.2.3:7070", false},
		{"127.0.0.1:7070", nil, "127.0.0.1:7070@evil", false},
		{"10.1.2.3:7070", nil, "10.1.2.3:7070", true},
		{"10.1.2.3:7070", nil, "10.1.2.4:7070", false},
		{"0.0.0.0:7070", nil, "10.1.2.4:7070", true},
		{"0.0.0.0:7070", nil, "evil.example:7070", false},
		{"[::]:7070", nil, "[fd00::1]:7070", true},
		{"0.0.0.0:7070", []string{"ci.example.com"}, "ci.example.com", true},
		{"0.0.0.0:7070", []string{"ci.example.com"}, "CI.example.com:7070", true},
		{"0.0.0.0:7070", []string{"ci.example.com"}, "ci.example.com:8080", false},
		{"0.0.0.0:7070", []string{"ci.example.com:443"}, "ci.example.com:443", true},
	} {
		if got := testGuard(t, tc.bound, tc.extra...).hostAllowed(tc.host); got != tc.want {
			t.Errorf("bound %s, extra %v: Host %q allowed = %v, want %v", tc.bound, tc.extra, tc.host, got, tc.want)
		}
	}
}

// TestGuardRequests runs the guard on a real listener, in front of a
// handler that answers 204, and checks which requests reach it.
func TestGuardRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	reached := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	g, err := newGuard("s3cret-token", addr, nil, reached, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(g)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	const json = "application/json"
	for _, tc := range []struct {
		name, method, host, auth, ctype string
		extra                           map[string]string
		want                            int
	}{
		{"status", "GET", "", "Bearer s3cret-token", "", nil, 204},
		{"lower-case scheme", "GET", "", "bearer s3cret-token", "", nil, 204},
		{"no token", "GET", "", "", "", nil, 401},
		{"wrong token", "GET", "", "Bearer s3cret-tokeN", "", nil, 401},
		{"token prefix", "GET", "", "Bearer s3cret", "", nil, 401},
		{"basic auth", "GET", "", "Basic s3cret-token", "", nil, 401},
		{"scheme only", "GET", "", "Bearer", "", nil, 401},
		{"rebound name", "GET", "rebind.example:" + port, "Bearer s3cret-token", "", nil, 421},
		{"rebound, no token", "GET", "rebind.example:" + port, "", "", nil, 421},
		{"localhost", "GET", "localhost:" + port, "Bearer s3cret-token", "", nil, 204},
		{"create", "POST", "", "Bearer s3cret-token", json, nil, 204},
		{"create, charset", "POST", "", "Bearer s3cret-token", "Application/JSON; charset=utf-8", nil, 204},
		{"create, text/plain", "POST", "", "Bearer s3cret-token", "text/plain", nil, 415},
		{"create, form", "POST", "", "Bearer s3cret-token", "application/x-www-form-urlencoded", nil, 415},
		{"create, no type", "POST", "", "Bearer s3cret-token", "", nil, 415},
		{"create, bad type", "POST", "", "Bearer s3cret-token", "application/json; =", nil, 415},
		{"delete, no type", "DELETE", "", "Bearer s3cret-token", "", nil, 415},
		{"cross-site", "POST", "", "Bearer s3cret-token", json, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site", "POST", "", "Bearer s3cret-token", json, map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"same-origin", "POST", "", "Bearer s3cret-token", json, map[string]string{"Sec-Fetch-Site": "same-origin"}, 204},
		{"typed by the user", "POST", "", "Bearer s3cret-token", json, map[string]string{"Sec-Fetch-Site": "none"}, 204},
		{"foreign origin", "POST", "", "Bearer s3cret-token", json, map[string]string{"Origin": "http://evil.example"}, 403},
		{"other local port", "POST", "", "Bearer s3cret-token", json, map[string]string{"Origin": "http://localhost:1"}, 403},
		{"opaque origin", "POST", "", "Bearer s3cret-token", json, map[string]string{"Origin": "null"}, 403},
		{"https origin", "POST", "", "Bearer s3cret-token", json, map[string]string{"Origin": "https://" + addr}, 403},
		{"own origin", "POST", "", "Bearer s3cret-token", json, map[string]string{"Origin": "http://" + addr}, 204},
		{"own origin by name", "POST", "", "Bearer s3cret-token", json, map[string]string{"Origin": "http://localhost:" + port}, 204},
		{"cross-site GET", "GET", "", "Bearer s3cret-token", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 204},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+"/v1/x", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		if tc.host != "" {
			req.Host = tc.host
		}
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		for k, v := range tc.extra {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d %s, want %d", tc.name, resp.StatusCode, body, tc.want)
			continue
		}
		if tc.want != 204 && (!strings.Contains(string(body), `"error"`) || resp.Header.Get("Content-Type") != json) {
			t.Errorf("%s: %d without a JSON error: %q", tc.name, tc.want, body)
		}
		if strings.Contains(string(body), "s3cret-token") {
			t.Errorf("%s: the answer shows the token: %q", tc.name, body)
		}
	}
}

// FuzzGuardHost: whatever the Host header, the guard does not panic, and
// what it accepts names the daemon's port on a loopback name or address.
func FuzzGuardHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1:7070", "localhost:7070", "[::1]:7070", "evil:7070", "a.localhost:7070",
		"127.0.0.1", "[::1", ":7070", "localhost.:7070", "%31%32%37.0.0.1:7070", "[::ffff:127.0.0.1]:7070"} {
		f.Add(s)
	}
	g := &guard{addr: "127.0.0.1:7070", port: "7070", ip: net.ParseIP("127.0.0.1"), hosts: map[string]bool{}}
	f.Fuzz(func(t *testing.T, host string) {
		if !g.hostAllowed(host) {
			return
		}
		h, port, err := net.SplitHostPort(strings.ToLower(host))
		if err != nil || port != "7070" {
			t.Fatalf("%q accepted: not at port 7070", host)
		}
		h = strings.TrimSuffix(h, ".")
		if ip := net.ParseIP(h); !(ip != nil && ip.IsLoopback()) && h != "localhost" && !strings.HasSuffix(h, ".localhost") {
			t.Fatalf("%q accepted: not a loopback name or address", host)
		}
	})
}

// FuzzGuardAuthorization: only the token, after the Bearer scheme, is
// accepted.
func FuzzGuardAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer tok", "bearer tok", "Bearer  tok ", "Basic tok", "Bearer", "", "Bearer tok2", "Bearer\ttok"} {
		f.Add(s)
	}
	g := testGuard(f, "127.0.0.1:7070")
	f.Fuzz(func(t *testing.T, header string) {
		if !g.authorized(header) {
			return
		}
		scheme, tok, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(tok) != "tok" {
			t.Fatalf("%q accepted", header)
		}
	})
}
