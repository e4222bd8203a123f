// Package dashboard is the web page `canaryflow up` serves at / of its API
// address: services, pipelines with live build logs, deployments as a
// table and a timeline, live SVG charts, and the actions (approve, promote,
// stop, roll back, start a pipeline). Its files are embedded: plain HTML,
// CSS and JavaScript, nothing fetched at run time.
//
// The page reads the same JSON API the CLI does and is told of changes by
// GET /v1/events. A browser signs in with a one-time link made with the
// API token (`canaryflow dashboard`); its session is an HttpOnly,
// SameSite=Strict cookie, and every action carries the session's CSRF
// token. The daemon's guard (httpguard) checks both: Session and Public
// are its options.
package dashboard

import (
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed static
var files embed.FS

// LoginPath is where a one-time sign-in link points.
const LoginPath = "/ui/login"

// Dashboard serves the page and its sign-in.
type Dashboard struct {
	auth   *auth
	static http.Handler
}

// Options configure a Dashboard.
type Options struct {
	// Now tells the time for sign-in codes and sessions. Zero: time.Now.
	Now func() time.Time
}

// New returns a dashboard with no one signed in.
func New(o Options) *Dashboard {
	sub, _ := fs.Sub(files, "static")
	return &Dashboard{auth: newAuth(o.Now), static: http.StripPrefix("/static/", http.FileServerFS(sub))}
}

// Link is the answer of POST /v1/dashboard/login.
type Link struct {
	// Path is the sign-in link's path and query, to put after the API's
	// address: it signs in one browser, once, within two minutes.
	Path string `json:"path"`
}

// Session is the answer of GET /ui/session.
type Session struct {
	CSRF string `json:"csrf"`
}

// Register adds the page's routes to mux.
func (d *Dashboard) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", d.page)
	mux.Handle("GET /static/", secured(d.static))
	mux.HandleFunc("GET "+LoginPath, d.login)
	mux.HandleFunc("GET /ui/session", d.session)
	mux.HandleFunc("POST /ui/logout", d.logout)
	mux.HandleFunc("POST /v1/dashboard/login", d.link)
}

// Session is the guard's second credential (httpguard.Options.Session).
func (d *Dashboard) Session(r *http.Request) (signedIn, csrf bool) { return d.auth.Session(r) }

// Public reports the requests the guard lets through without a
// credential: the page, its files and the sign-in link (httpguard.Options.Public).
func (d *Dashboard) Public(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := r.URL.Path
	return p == "/" || p == LoginPath || strings.HasPrefix(p, "/static/")
}

// secured adds the headers every page answer carries: no framing, no
// inline script, no referrer (a sign-in link never leaves in one).
func secured(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

func (d *Dashboard) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	secured(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := files.ReadFile("static/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(data)
	})).ServeHTTP(w, r)
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>canaryflow</title>
{{if .OK}}<meta http-equiv="refresh" content="0;url=/">{{end}}
<link rel="stylesheet" href="/static/style.css"></head>
<body><main class="signin"><h1>canaryflow</h1>
{{if .OK}}<p>Signed in. <a href="/">Open the dashboard</a>.</p>
{{else}}<p role="alert">This sign-in link is spent or expired. Run <code>canaryflow dashboard</code> for a new one.</p>{{end}}
</main></body></html>`))

// login spends a one-time code and sets the session cookie. It answers a
// page that moves on to / by itself, a same-site navigation that carries
// the SameSite=Strict cookie however the link was opened.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	id, ok := d.auth.signIn(r.URL.Query().Get("code"))
	if ok {
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, MaxAge: int(sessionLife / time.Second)})
	}
	secured(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusForbidden)
		}
		_ = loginPage.Execute(w, struct{ OK bool }{ok})
	})).ServeHTTP(w, r)
}

func (d *Dashboard) session(w http.ResponseWriter, r *http.Request) {
	s, _, ok := d.auth.lookup(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not signed in: run canaryflow dashboard"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, Session{CSRF: s.csrf})
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	d.auth.signOut(r)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	writeJSON(w, http.StatusOK, map[string]string{})
}

// link makes a one-time sign-in link. Only the API token may: a signed-in
// browser cannot mint more sessions.
func (d *Dashboard) link(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "sign-in links are made with the API token (canaryflow dashboard)"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, Link{Path: LoginPath + "?code=" + url.QueryEscape(d.auth.newCode())})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
