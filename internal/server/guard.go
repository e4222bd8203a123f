package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/canaryflow/canaryflow/internal/loopback"
)

// guard is what every API request passes before a handler sees it. The
// API can start a deployment, and with the process runtime a deployment
// runs the image's entrypoint on the host, so being on loopback proves
// nothing: a web page in the user's browser can reach loopback too.
//
//   - Host must name the address the daemon serves (or a loopback name or
//     address at its port), so a DNS-rebound name reaches nothing (421).
//   - A bearer token is required on every request (401), compared in
//     constant time.
//   - A request that changes state is refused when a browser says it comes
//     from another site (Origin, Sec-Fetch-Site: 403), or when its body is
//     not declared application/json (415), which no cross-site form or
//     "simple" fetch can send without a preflight.
type guard struct {
	// tokenSum is the SHA-256 of the token, so comparing does not depend
	// on the length of what a client sent.
	tokenSum [sha256.Size]byte
	// addr is the listener's host:port; port its port.
	addr, port string
	// ip is the address the listener is bound to; unspecified (0.0.0.0,
	// ::) accepts every IP literal, which no rebinding can produce.
	ip net.IP
	// hosts are more Host values to accept (lower case), from
	// Options.APIHosts.
	hosts map[string]bool
	next  http.Handler
	log   *slog.Logger
}

// newGuard wraps next for a listener bound to addr (host:port, the port
// resolved).
func newGuard(token, addr string, extraHosts []string, next http.Handler, log *slog.Logger) (*guard, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("API address %q: %w", addr, err)
	}
	g := &guard{tokenSum: sha256.Sum256([]byte(token)), addr: addr, port: port, ip: net.ParseIP(host),
		hosts: map[string]bool{}, next: next, log: log}
	for _, h := range extraHosts {
		g.hosts[strings.ToLower(h)] = true
	}
	return g, nil
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.hostAllowed(r.Host) {
		g.refuse(w, r, http.StatusMisdirectedRequest, fmt.Sprintf(
			"Host %q is not this daemon's address (%s); use 127.0.0.1 or localhost with port %s", r.Host, g.addr, g.port))
		return
	}
	if !g.authorized(r.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="canaryflow"`)
		g.refuse(w, r, http.StatusUnauthorized, "missing or wrong API token: send the header \"Authorization: Bearer TOKEN\"; the CLI reads it from "+
			TokenFile+" in the state directory, or from --token or CANARYFLOW_TOKEN")
		return
	}
	if !changesState(r.Method) {
		g.next.ServeHTTP(w, r)
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		g.refuse(w, r, http.StatusForbidden, fmt.Sprintf("cross-site request refused (Sec-Fetch-Site: %s)", site))
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" && !g.originAllowed(origin) {
		g.refuse(w, r, http.StatusForbidden, fmt.Sprintf("request from origin %q refused: only the daemon's own origin may change state", origin))
		return
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		g.refuse(w, r, http.StatusUnsupportedMediaType, fmt.Sprintf(
			"%s %s needs Content-Type: application/json (got %q)", r.Method, r.URL.Path, r.Header.Get("Content-Type")))
		return
	}
	g.next.ServeHTTP(w, r)
}

// refuse answers a refused request and logs why (never the token).
func (g *guard) refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	g.log.Warn("API request refused", "status", code, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", msg)
	writeJSON(w, code, ErrorBody{Error: msg})
}

// authorized reports whether an Authorization header carries the token.
func (g *guard) authorized(header string) bool {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(sum[:], g.tokenSum[:]) == 1
}

// hostAllowed reports whether a Host header names this daemon: its port,
// and a loopback name or address, the address it is bound to, any IP
// literal when bound to all addresses, or one of the extra hosts.
func (g *guard) hostAllowed(hostport string) bool {
	hostport = strings.ToLower(hostport)
	if g.hosts[hostport] {
		return true
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port != g.port {
		return false
	}
	host = strings.TrimSuffix(host, ".")
	if g.hosts[host] || loopback.IsBrowserHost(host) {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	return ip.Equal(g.ip) || (g.ip != nil && g.ip.IsUnspecified())
}

// originAllowed reports whether an Origin header is the daemon's own.
func (g *guard) originAllowed(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.Path != "" && u.Path != "/" {
		return false
	}
	return g.hostAllowed(u.Host)
}

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
