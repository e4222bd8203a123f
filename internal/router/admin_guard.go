package router

import (
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/canaryflow/canaryflow/internal/loopback"
)

// AdminOptions secure the admin endpoint. Its zero value refuses every
// request (no token).
type AdminOptions struct {
	// Token is the bearer token every request must carry as
	// "Authorization: Bearer <token>". Empty refuses every request.
	Token string
	// Addr is the admin listener's address (host:port, as bound). A request
	// whose Host header names neither it, nor loopback, nor (when Addr is
	// the unspecified address) an IP address is refused: a browser tricked
	// by DNS rebinding sends the attacker's host name. Empty accepts only
	// loopback names, on any port. Addr is also refused as a target.
	Addr string
	// Extra are more routes (ServeMux pattern to handler) served behind the
	// same checks, such as the profiler. Nil means none.
	Extra map[string]http.Handler
}

// guardAdmin wraps h with the admin endpoint's checks, in this order:
//
//   - 403 for a Host that is not the endpoint's (DNS rebinding);
//   - 403 for a state-changing request (any method but GET and HEAD) from
//     another site: an Origin other than the endpoint's own, or
//     Sec-Fetch-Site cross-site or same-site;
//   - 401 without the bearer token;
//   - 415 for a state-changing request whose body is not
//     application/json (a form a page posts without asking first).
func guardAdmin(o AdminOptions, h http.Handler) http.Handler {
	allowed := newHostCheck(o.Addr)
	want := []byte("Bearer " + o.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowed.ok(r.Host) {
			writeJSON(w, http.StatusForbidden, errorBody{"Host " + r.Host + " is not this admin endpoint: use its address or a loopback name"})
			return
		}
		changes := r.Method != http.MethodGet && r.Method != http.MethodHead
		if changes && crossSite(r) {
			writeJSON(w, http.StatusForbidden, errorBody{"cross-site requests may not change the proxy"})
			return
		}
		if o.Token == "" || !bearerOK(r, want) {
			writeJSON(w, http.StatusUnauthorized, errorBody{"missing or wrong bearer token"})
			return
		}
		if changes {
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				writeJSON(w, http.StatusUnsupportedMediaType, errorBody{"send the request body as Content-Type: application/json"})
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// crossSite reports whether a browser says r comes from another site.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	origins := r.Header.Values("Origin")
	if len(origins) == 0 {
		return false
	}
	for _, o := range origins {
		if o != "http://"+r.Host && o != "https://"+r.Host {
			return true
		}
	}
	return false
}

// hostCheck decides which Host headers name the admin endpoint.
type hostCheck struct {
	name    string     // the listen host when it is a name, lower case
	addr    netip.Addr // the listen host when it is an address
	port    string     // the listen port; "" or "0" accepts any
	anyAddr bool       // listening on the unspecified address
}

func newHostCheck(listen string) hostCheck {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return hostCheck{}
	}
	hc := hostCheck{port: port}
	if a, err := netip.ParseAddr(host); err == nil {
		hc.addr = a.Unmap()
		hc.anyAddr = a.IsUnspecified()
	} else if host == "" {
		hc.anyAddr = true
	} else {
		hc.name = strings.ToLower(host)
	}
	return hc
}

func (hc hostCheck) ok(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	if port != "" && hc.port != "" && hc.port != "0" && port != hc.port {
		return false
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if loopback.IsHost(host) || host != "" && host == hc.name {
		return true
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return hc.anyAddr || hc.addr.IsValid() && a.Unmap() == hc.addr
}
