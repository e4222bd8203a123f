package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/canaryflow/canaryflow/internal/dashboard"
	"github.com/canaryflow/canaryflow/internal/httpguard"
)

// newGuard puts the checks every API request passes (see httpguard) in
// front of next, for a listener bound to addr (host:port, the port
// resolved). The API can start a deployment, and with the process runtime
// a deployment runs the image's entrypoint on the host, so:
//
//   - Host must name the address the daemon serves (or a loopback name or
//     address at its port, or one of extraHosts), so a DNS-rebound name
//     reaches nothing (421).
//   - A bearer token is required on every request (401), and checked
//     first: a request without it learns nothing more.
//   - A request that changes state is refused when a browser says it comes
//     from another site (Origin, Sec-Fetch-Site: 403), or when its body is
//     not declared application/json (415).
//
// The dashboard's page and sign-in link need no credential (the Host rule
// still holds), and a browser signed in to it has its session cookie in
// place of the token, with the session's CSRF token on every change.
func newGuard(token, addr string, extraHosts []string, dash *dashboard.Dashboard, next http.Handler, log *slog.Logger) (*httpguard.Guard, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("API address %q: %w", addr, err)
	}
	return httpguard.New(httpguard.Options{
		Token:      token,
		Addr:       addr,
		Hosts:      extraHosts,
		Name:       "daemon",
		TokenName:  "API token",
		TokenHelp:  "; the CLI reads it from " + TokenFile + " in the state directory, or from --token or CANARYFLOW_TOKEN",
		HostStatus: http.StatusMisdirectedRequest,
		TokenFirst: true,
		Session:    dash.Session,
		Public:     dash.Public,
		Logger:     log,
	}, next), nil
}
