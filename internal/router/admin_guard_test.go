package router

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAdminGuard sends the requests a hostile web page can make to the
// admin endpoint over a real socket, and checks that none changes the
// router, while the CLI's own requests still do.
func TestAdminGuard(t *testing.T) {
	blue := newBackend(t, "blue", nil)
	rt, _ := newTestRouter(t, Options{Blue: []string{blue.URL}})
	srv := httptest.NewUnstartedServer(nil)
	addr := srv.Listener.Addr().String()
	srv.Config.Handler = rt.AdminHandler(AdminOptions{Token: "s3cret", Addr: addr})
	srv.Start()
	t.Cleanup(srv.Close)
	extra := newBackend(t, "extra", nil)
	addTarget := `{"group":"green","url":"` + extra.URL + `"}`
	const json = "application/json"
	for _, tc := range []struct {
		name, method, path, body, host, token, ctype string
		hdr                                          []string
		want                                         int
	}{
		{"no token", "GET", "/weights", "", "", "", "", nil, http.StatusUnauthorized},
		{"no token, write", "PUT", "/weights", `{"green":1000}`, "", "", json, nil, http.StatusUnauthorized},
		{"wrong token", "PUT", "/weights", `{"green":1000}`, "", "other", json, nil, http.StatusUnauthorized},
		{"rebinding Host", "PUT", "/weights", `{"green":1000}`, "evil.example:" + port(addr), "s3cret", json, nil, http.StatusForbidden},
		{"rebinding Host, read", "GET", "/snapshot", "", "evil.example", "s3cret", "", nil, http.StatusForbidden},
		{"other port", "GET", "/weights", "", "127.0.0.1:1", "s3cret", "", nil, http.StatusForbidden},
		{"cross-site form", "POST", "/targets", addTarget, "", "", "text/plain", []string{"Origin", "http://evil.example"}, http.StatusForbidden},
		{"cross-site fetch", "POST", "/targets", addTarget, "", "s3cret", json, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"same-site page", "POST", "/targets", addTarget, "", "s3cret", json, []string{"Origin", "http://localhost:3000"}, http.StatusForbidden},
		{"null origin", "POST", "/targets", addTarget, "", "s3cret", json, []string{"Origin", "null"}, http.StatusForbidden},
		{"form body", "POST", "/targets", addTarget, "", "s3cret", "application/x-www-form-urlencoded", nil, http.StatusUnsupportedMediaType},
		{"no content type", "POST", "/targets", addTarget, "", "s3cret", "", nil, http.StatusUnsupportedMediaType},
		{"self target", "POST", "/targets", `{"group":"green","url":"http://` + addr + `"}`, "", "s3cret", json, nil, http.StatusBadRequest},
		{"self target as localhost", "POST", "/targets", `{"group":"green","url":"http://localhost:` + port(addr) + `"}`, "", "s3cret", json, nil, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := adminDo(t, srv, tc.method, tc.path, tc.body, tc.host, tc.token, tc.ctype, tc.hdr...)
			if code != tc.want {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, code, body, tc.want)
			}
			if w := rt.Weights(); w.Green != 0 || len(rt.Snapshot().Green.Targets) != 0 {
				t.Fatalf("refused request changed the router: %v, green %+v", w, rt.Snapshot().Green.Targets)
			}
		})
	}
	for _, tc := range []struct {
		host string
		hdr  []string
	}{
		{"", []string{"Origin", "http://" + addr, "Sec-Fetch-Site", "same-origin"}},
		{"localhost:" + port(addr), nil},
		{"[::1]:" + port(addr), nil},
	} {
		if code, body := adminDo(t, srv, "PUT", "/weights", `{"green":10}`, tc.host, "s3cret", "application/json; charset=utf-8", tc.hdr...); code != http.StatusOK {
			t.Errorf("own request (Host %q): %d %s", tc.host, code, body)
		}
	}
	if code, body := adminDo(t, srv, "POST", "/targets", addTarget, "", "s3cret", json); code != http.StatusCreated {
		t.Errorf("own POST /targets: %d %s", code, body)
	}
}

// TestAdminWithoutToken checks that the zero AdminOptions refuses even a
// request with an empty bearer token.
func TestAdminWithoutToken(t *testing.T) {
	rt, _ := newTestRouter(t, Options{})
	srv := httptest.NewServer(rt.AdminHandler(AdminOptions{}))
	t.Cleanup(srv.Close)
	for _, tok := range []string{"", " "} {
		if code, _ := adminDo(t, srv, "GET", "/weights", "", "", tok, ""); code != http.StatusUnauthorized {
			t.Errorf("token %q: %d, want 401", tok, code)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/weights", nil)
	req.Header.Set("Authorization", "Bearer ")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf(`"Bearer " with no token configured: %d, want 401`, resp.StatusCode)
	}
}

func port(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

// adminDo sends one request to the admin server; host, token and ctype are
// left out when empty.
func adminDo(t *testing.T, srv *httptest.Server, method, path, body, host, token, ctype string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
