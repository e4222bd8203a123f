// Package httpguard is the one gate in front of canaryflow's control APIs:
// the daemon's API and the proxy's admin endpoint. Both can change what
// serves production traffic, and being on loopback proves nothing, since a
// web page in the user's browser can reach loopback too. So every request
// must name the endpoint in its Host (a DNS-rebound name reaches nothing),
// carry the bearer token, and, when it changes state, neither come from
// another site nor carry anything but JSON, which no cross-site form or
// "simple" fetch can send without a CORS preflight.
package httpguard

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/canaryflow/canaryflow/internal/loopback"
)

// Options say what a Guard lets through and how it answers the rest.
type Options struct {
	// Token is the bearer token every request must carry as
	// "Authorization: Bearer TOKEN" (scheme in any case), compared in
	// constant time. Empty refuses every request.
	Token string
	// Addr is the listener's address (host:port, as bound). A Host header
	// must name its port and its host, a loopback name or address, or, when
	// Addr's host is the unspecified address or empty, any IP address. Empty
	// Addr (or port 0) accepts loopback names and addresses at any port.
	Addr string
	// Hosts are more Host values to accept, "name" at Addr's port or
	// "name:port" exactly. Nil means none.
	Hosts []string
	// Name names the endpoint in refusals ("daemon", "admin endpoint").
	// Empty means "endpoint".
	Name string
	// TokenName names the token in a 401 ("API token"). Empty means "token".
	TokenName string
	// TokenHelp ends a 401's message, saying where the token is found.
	// Empty says nothing more.
	TokenHelp string
	// HostStatus answers a foreign Host. Zero means 421 Misdirected Request.
	HostStatus int
	// TokenFirst checks the token before the cross-site rules, so a
	// cross-site write without the token gets 401. False checks it after,
	// so such a write gets 403 whatever it carries.
	TokenFirst bool
	// Logger logs every refusal (never the token). Nil logs nothing.
	Logger *slog.Logger
	// Session, when set, is a second credential for a browser: it reports
	// whether r carries a signed-in session (a cookie) and whether it
	// carries that session's CSRF token. A request with a session needs no
	// bearer token; one that changes state also needs the CSRF token.
	// Nil: the bearer token is the only credential.
	Session func(r *http.Request) (signedIn, csrf bool)
	// Public, when set, reports the GET requests that need no credential
	// at all (the dashboard's page and its sign-in link); the Host rule
	// still holds for them. Nil: none.
	Public func(r *http.Request) bool
}

// Guard wraps a handler with the checks of its Options. Build it with New.
type Guard struct {
	opts     Options
	tokenSum [sha256.Size]byte // SHA-256 of the token: comparing takes as long whatever was sent
	port     string            // Addr's port; "" or "0" accepts any
	name     string            // Addr's host when it is a name, lower case
	ip       netip.Addr        // Addr's host when it is an address
	anyIP    bool              // Addr's host is unspecified or empty
	hosts    map[string]bool   // Options.Hosts, lower case
	next     http.Handler
}

// New returns next behind the checks of o. An Addr that is not host:port
// is taken as empty.
func New(o Options, next http.Handler) *Guard {
	g := &Guard{opts: o, tokenSum: sha256.Sum256([]byte(o.Token)), hosts: map[string]bool{}, next: next}
	if g.opts.Name == "" {
		g.opts.Name = "endpoint"
	}
	if g.opts.TokenName == "" {
		g.opts.TokenName = "token"
	}
	if g.opts.HostStatus == 0 {
		g.opts.HostStatus = http.StatusMisdirectedRequest
	}
	if host, port, err := net.SplitHostPort(o.Addr); err == nil {
		g.port = port
		if a, err := netip.ParseAddr(host); err == nil {
			g.ip, g.anyIP = a.Unmap(), a.IsUnspecified()
		} else if host == "" {
			g.anyIP = true
		} else {
			g.name = strings.ToLower(host)
		}
	}
	for _, h := range o.Hosts {
		g.hosts[strings.ToLower(h)] = true
	}
	return g
}

// ServeHTTP answers a request that fails a check with its status and a
// JSON {"error": ...} saying why, and hands the others to next.
func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.HostAllowed(r.Host) {
		port := "its port"
		if g.port != "" && g.port != "0" {
			port = "port " + g.port
		}
		g.refuse(w, r, g.opts.HostStatus, fmt.Sprintf("Host %q is not this %s's address (%s); use 127.0.0.1 or localhost with %s",
			r.Host, g.opts.Name, g.opts.Addr, port))
		return
	}
	changes := changesState(r.Method)
	if !changes && g.opts.Public != nil && g.opts.Public(r) {
		g.next.ServeHTTP(w, r)
		return
	}
	if g.opts.TokenFirst && !g.tokenOK(w, r) {
		return
	}
	if changes && !g.sameSite(w, r) {
		return
	}
	if !g.opts.TokenFirst && !g.tokenOK(w, r) {
		return
	}
	if changes && !isJSON(r.Header.Get("Content-Type")) {
		g.refuse(w, r, http.StatusUnsupportedMediaType, fmt.Sprintf(
			"%s %s needs Content-Type: application/json (got %q)", r.Method, r.URL.Path, r.Header.Get("Content-Type")))
		return
	}
	g.next.ServeHTTP(w, r)
}

// tokenOK answers 401 and returns false unless r carries the token.
func (g *Guard) tokenOK(w http.ResponseWriter, r *http.Request) bool {
	if g.Authorized(r.Header.Get("Authorization")) {
		return true
	}
	if g.opts.Session != nil {
		if signedIn, csrf := g.opts.Session(r); signedIn {
			if !changesState(r.Method) || csrf {
				return true
			}
			g.refuse(w, r, http.StatusForbidden, "missing or wrong CSRF token: reload the dashboard")
			return false
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="canaryflow"`)
	g.refuse(w, r, http.StatusUnauthorized, "missing or wrong "+g.opts.TokenName+": send the header \"Authorization: Bearer TOKEN\""+g.opts.TokenHelp)
	return false
}

// sameSite answers 403 and returns false when a browser says r comes from
// another site: Sec-Fetch-Site other than same-origin or none, or an
// Origin that is not this endpoint's own.
func (g *Guard) sameSite(w http.ResponseWriter, r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		g.refuse(w, r, http.StatusForbidden, fmt.Sprintf("cross-site request refused (Sec-Fetch-Site: %s)", site))
		return false
	}
	for _, origin := range r.Header.Values("Origin") {
		if !g.OriginAllowed(origin) {
			g.refuse(w, r, http.StatusForbidden, fmt.Sprintf(
				"cross-site request from origin %q refused: only the %s's own origin may change state", origin, g.opts.Name))
			return false
		}
	}
	return true
}

// refuse answers {"error": msg} with code and logs why.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if g.opts.Logger != nil {
		g.opts.Logger.Warn(g.opts.Name+" request refused", "status", code, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", msg)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(struct {
		Error string `json:"error"`
	}{msg})
}

// Authorized reports whether an Authorization header carries the token.
func (g *Guard) Authorized(header string) bool {
	scheme, tok, ok := strings.Cut(header, " ")
	if g.opts.Token == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(sum[:], g.tokenSum[:]) == 1
}

// HostAllowed reports whether a Host header (host or host:port; no port
// means 80) names this endpoint: see Options.Addr and Options.Hosts.
func (g *Guard) HostAllowed(hostport string) bool {
	hostport = strings.ToLower(hostport)
	if g.hosts[hostport] {
		return true
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), "80"
	}
	if host == "" || g.port != "" && g.port != "0" && port != g.port {
		return false
	}
	host = strings.TrimSuffix(host, ".")
	if g.hosts[host] || g.name != "" && host == g.name || loopback.IsBrowserHost(host) {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && (g.anyIP || g.ip.IsValid() && a.Unmap() == g.ip)
}

// OriginAllowed reports whether an Origin header is this endpoint's own:
// plain http (neither API speaks TLS) at an allowed Host.
func (g *Guard) OriginAllowed(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.Path != "" && u.Path != "/" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	return g.HostAllowed(u.Host)
}

// changesState reports whether a request with method may change state:
// any method but GET, HEAD and OPTIONS.
func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}
