package router

import (
	"net/http"

	"github.com/canaryflow/canaryflow/internal/httpguard"
)

// AdminOptions secure the admin endpoint. Its zero value refuses every
// request (no token).
type AdminOptions struct {
	// Token is the bearer token every request must carry as
	// "Authorization: Bearer <token>". Empty refuses every request.
	Token string
	// Addr is the admin listener's address (host:port, as bound). A request
	// whose Host header names neither it, nor a loopback name (localhost,
	// *.localhost) or address at its port, nor (when Addr is the
	// unspecified address) an IP address is refused: a browser tricked by
	// DNS rebinding sends the attacker's host name. Empty accepts only
	// loopback names and addresses, on any port. Addr is also refused as a
	// target.
	Addr string
	// Extra are more routes (ServeMux pattern to handler) served behind the
	// same checks, such as the profiler. Nil means none.
	Extra map[string]http.Handler
}

// guardAdmin wraps h with the admin endpoint's checks (see httpguard), in
// this order:
//
//   - 403 for a Host that is not the endpoint's (DNS rebinding);
//   - 403 for a state-changing request (any method but GET, HEAD and
//     OPTIONS) from another site: an Origin other than the endpoint's own,
//     or Sec-Fetch-Site other than same-origin or none, whether or not it
//     carries the token;
//   - 401 without the bearer token;
//   - 415 for a state-changing request whose body is not
//     application/json (a form a page posts without asking first).
func guardAdmin(o AdminOptions, h http.Handler) http.Handler {
	return httpguard.New(httpguard.Options{
		Token:      o.Token,
		Addr:       o.Addr,
		Name:       "admin endpoint",
		TokenName:  "admin token",
		HostStatus: http.StatusForbidden,
	}, h)
}
