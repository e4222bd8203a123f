package server

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/canaryflow/canaryflow/internal/dashboard"
)

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
	g, err := newGuard("s3cret-token", addr, nil, dashboard.New(dashboard.Options{}), reached, slog.New(slog.DiscardHandler))
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
