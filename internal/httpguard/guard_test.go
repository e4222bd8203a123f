package httpguard

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/canaryflow/canaryflow/internal/loopback"
)

func TestHostAllowed(t *testing.T) {
	for _, tc := range []struct {
		bound string
		extra []string
		host  string
		want  bool
	}{
		// the daemon's cases
		{"127.0.0.1:7070", nil, "127.0.0.1:7070", true},
		{"127.0.0.1:7070", nil, "localhost:7070", true},
		{"127.0.0.1:7070", nil, "LocalHost:7070", true},
		{"127.0.0.1:7070", nil, "localhost.:7070", true},
		{"127.0.0.1:7070", nil, "dash.localhost:7070", true},
		{"127.0.0.1:7070", nil, "[::1]:7070", true},
		{"127.0.0.1:7070", nil, "127.0.0.2:7070", true},
		{"127.0.0.1:7070", nil, "rebind.example:7070", false},
		{"127.0.0.1:7070", nil, "127.0.0.1.nip.io:7070", false},
		{"127.0.0.1:7070", nil, "127.evil.example:7070", false},
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
		// the admin endpoint's cases
		{"admin.internal:8090", nil, "admin.internal:8090", true},
		{"admin.internal:8090", nil, "Admin.Internal:8090", true},
		{"admin.internal:8090", nil, "other.internal:8090", false},
		{":8090", nil, "10.0.0.7:8090", true},
		{"127.0.0.1:0", nil, "localhost:4321", true},
		{"", nil, "127.0.0.1:4321", true},
		{"", nil, "[::1]", true},
		{"", nil, "evil.example:4321", false},
		{"", nil, "10.0.0.7:4321", false},
		{"127.0.0.1:80", nil, "localhost", true},
	} {
		g := New(Options{Token: "tok", Addr: tc.bound, Hosts: tc.extra}, http.NotFoundHandler())
		if got := g.HostAllowed(tc.host); got != tc.want {
			t.Errorf("bound %s, extra %v: Host %q allowed = %v, want %v", tc.bound, tc.extra, tc.host, got, tc.want)
		}
	}
}

// TestOrder checks the two orders of Options.TokenFirst and HostStatus on
// a real server: a cross-site write without the token is 401 when the
// token comes first, 403 otherwise, and a foreign Host gets HostStatus.
func TestOrder(t *testing.T) {
	for _, tc := range []struct {
		opts             Options
		crossNoToken, fh int
	}{
		{Options{TokenFirst: true}, http.StatusUnauthorized, http.StatusMisdirectedRequest},
		{Options{HostStatus: http.StatusForbidden}, http.StatusForbidden, http.StatusForbidden},
	} {
		reached := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		srv := httptest.NewUnstartedServer(nil)
		tc.opts.Token, tc.opts.Addr = "tok", srv.Listener.Addr().String()
		srv.Config.Handler = New(tc.opts, reached)
		srv.Start()
		t.Cleanup(srv.Close)
		do := func(host, auth string, hdr ...string) int {
			req, _ := http.NewRequest("POST", srv.URL+"/x", strings.NewReader("{}"))
			if host != "" {
				req.Host = host
			}
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := do("", "", "Origin", "http://evil.example"); got != tc.crossNoToken {
			t.Errorf("%+v: cross-site write without token: %d, want %d", tc.opts, got, tc.crossNoToken)
		}
		if got := do("evil.example", "Bearer tok", "Content-Type", "application/json"); got != tc.fh {
			t.Errorf("%+v: foreign Host: %d, want %d", tc.opts, got, tc.fh)
		}
		if got := do("", "Bearer tok", "Content-Type", "application/json", "Origin", "http://"+tc.opts.Addr); got != http.StatusNoContent {
			t.Errorf("%+v: own write: %d, want 204", tc.opts, got)
		}
	}
}

// FuzzHostAllowed: whatever the Host header and the listen address, what
// the guard accepts is a loopback name or address, the listen name, or an
// IP address; and for a guard on 127.0.0.1:7070, only at port 7070.
func FuzzHostAllowed(f *testing.F) {
	for _, s := range []string{"127.0.0.1:7070", "localhost:7070", "[::1]:7070", "evil:7070", "a.localhost:7070",
		"127.0.0.1", "[::1", ":7070", "localhost.:7070", "%31%32%37.0.0.1:7070", "[::ffff:127.0.0.1]:7070"} {
		f.Add("127.0.0.1:7070", s)
		f.Add("admin.internal:8090", s)
	}
	f.Fuzz(func(t *testing.T, listen, host string) {
		if !New(Options{Addr: listen}, http.NotFoundHandler()).HostAllowed(host) {
			return
		}
		name, port, err := net.SplitHostPort(strings.ToLower(host))
		if err != nil {
			name = strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(host), "["), "]")
		}
		if listen == "127.0.0.1:7070" && (err != nil || port != "7070") {
			t.Fatalf("%q accepted: not at port 7070", host)
		}
		lname, _, _ := net.SplitHostPort(listen)
		name = strings.TrimSuffix(name, ".")
		if _, err := netip.ParseAddr(name); err == nil || loopback.IsBrowserHost(name) || name == strings.ToLower(lname) {
			return
		}
		t.Fatalf("listen %q accepted Host %q", listen, host)
	})
}

// FuzzAuthorized: only the token, after the Bearer scheme, is accepted,
// and nothing when no token is set.
func FuzzAuthorized(f *testing.F) {
	for _, s := range []string{"Bearer tok", "bearer tok", "Bearer  tok ", "Basic tok", "Bearer", "", "Bearer tok2", "Bearer\ttok", "Bearer "} {
		f.Add(s)
	}
	g := New(Options{Token: "tok"}, http.NotFoundHandler())
	none := New(Options{}, http.NotFoundHandler())
	f.Fuzz(func(t *testing.T, header string) {
		if none.Authorized(header) {
			t.Fatalf("%q accepted with no token set", header)
		}
		if !g.Authorized(header) {
			return
		}
		scheme, tok, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(tok) != "tok" {
			t.Fatalf("%q accepted", header)
		}
	})
}

// TestSessionAndPublic: a session stands in for the token on reads and,
// with its CSRF token, on writes; public pages need neither but still
// need the right Host.
func TestSessionAndPublic(t *testing.T) {
	reached := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = New(Options{Token: "tok", Addr: srv.Listener.Addr().String(), TokenFirst: true,
		Session: func(r *http.Request) (bool, bool) {
			return r.Header.Get("Cookie") == "s=good", r.Header.Get("X-CSRF-Token") == "c"
		},
		Public: func(r *http.Request) bool { return r.URL.Path == "/" },
	}, reached)
	srv.Start()
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		method, path, host, cookie, csrf string
		want                             int
	}{
		{"GET", "/", "", "", "", http.StatusNoContent},
		{"GET", "/", "evil.example:80", "", "", http.StatusMisdirectedRequest},
		{"POST", "/", "", "", "", http.StatusUnauthorized}, // public is for reads only
		{"GET", "/v1/status", "", "", "", http.StatusUnauthorized},
		{"GET", "/v1/status", "", "s=bad", "", http.StatusUnauthorized},
		{"GET", "/v1/status", "", "s=good", "", http.StatusNoContent},
		{"POST", "/v1/x", "", "s=good", "", http.StatusForbidden},
		{"POST", "/v1/x", "", "s=good", "wrong", http.StatusForbidden},
		{"POST", "/v1/x", "", "s=good", "c", http.StatusNoContent},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		if tc.host != "" {
			req.Host = tc.host
		}
		if tc.cookie != "" {
			req.Header.Set("Cookie", tc.cookie)
		}
		if tc.csrf != "" {
			req.Header.Set("X-CSRF-Token", tc.csrf)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s host %q cookie %q csrf %q: %d, want %d", tc.method, tc.path, tc.host, tc.cookie, tc.csrf, resp.StatusCode, tc.want)
		}
	}
}
