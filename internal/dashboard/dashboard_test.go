package dashboard

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSignInLinkWorksOnceAndExpires(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := New(Options{Now: func() time.Time { return now }})
	mux := http.NewServeMux()
	d.Register(mux)
	link := func() string {
		req := httptest.NewRequest("POST", "/v1/dashboard/login", nil)
		req.Header.Set("Authorization", "Bearer tok") // the guard checked it
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		var l Link
		if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil || !strings.HasPrefix(l.Path, LoginPath+"?code=") {
			t.Fatalf("link: %d %s", w.Code, w.Body)
		}
		return l.Path
	}
	get := func(path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		return w
	}

	p := link()
	w := get(p)
	cookies := w.Result().Cookies()
	if w.Code != 200 || len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/" {
		t.Fatalf("sign-in: %d, cookies %+v", w.Code, cookies)
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || w.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("sign-in page headers: %v", w.Header())
	}
	if again := get(p); again.Code != http.StatusForbidden || len(again.Result().Cookies()) != 0 {
		t.Errorf("the same link twice: %d", again.Code)
	}
	s := get("/ui/session", cookies[0])
	var sess Session
	if err := json.Unmarshal(s.Body.Bytes(), &sess); err != nil || len(sess.CSRF) != 64 {
		t.Fatalf("session: %d %s", s.Code, s.Body)
	}
	req := httptest.NewRequest("POST", "/v1/x", nil)
	req.AddCookie(cookies[0])
	if in, csrf := d.Session(req); !in || csrf {
		t.Errorf("without the CSRF token: signed in %v, csrf %v", in, csrf)
	}
	req.Header.Set(CSRFHeader, sess.CSRF)
	if in, csrf := d.Session(req); !in || !csrf {
		t.Errorf("with the CSRF token: signed in %v, csrf %v", in, csrf)
	}

	// A link not used within two minutes is dead; a session lasts 12 hours.
	late := link()
	now = now.Add(codeLife)
	if w := get(late); w.Code != http.StatusForbidden {
		t.Errorf("an expired link: %d", w.Code)
	}
	now = now.Add(sessionLife)
	if in, _ := d.Session(req); in {
		t.Error("a session outlived its life")
	}

	// A browser cannot mint links; only the API token can.
	noToken := httptest.NewRequest("POST", "/v1/dashboard/login", nil)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, noToken)
	if rec.Code != http.StatusForbidden {
		t.Errorf("a link without the token: %d", rec.Code)
	}
}

func TestPageIsEmbedded(t *testing.T) {
	mux := http.NewServeMux()
	New(Options{}).Register(mux)
	for path, want := range map[string]string{"/": `src="/static/app.js"`, "/static/app.js": "new EventSource(\"/v1/events\")", "/static/style.css": "--blue"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != 200 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, w.Code, want)
		}
	}
}
