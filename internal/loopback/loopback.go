// Package loopback is canaryflow's one answer to "is this address this
// machine only". Tokens may be created without asking, registries spoken
// to in plain HTTP and endpoints bound without a token only where the
// answer is yes, so every such decision asks here: a second copy of the
// rule would drift from the first (one accepting "127.evil.example", say).
package loopback

import (
	"net"
	"net/netip"
	"strings"
)

// IsHost reports whether host ("host", "host:port", "[v6]" or "[v6]:port")
// reaches this machine only, without asking DNS: the name "localhost" (any
// case) or an IP address in 127.0.0.0/8 or ::1, IPv4-mapped ones included.
// Other names are not, however they resolve; "127.evil.example" and
// "localhost.evil.example" are names. Names under .localhost are not
// either: a resolver may answer anything for them (see IsBrowserHost).
func IsHost(host string) bool {
	h := hostOf(host)
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// IsBrowserHost reports whether host, as a browser sends it in a Host or
// Origin header, names this machine only: what IsHost accepts, a trailing
// dot allowed, and names under .localhost, which browsers resolve to
// loopback themselves (RFC 6761), so a DNS-rebound page cannot send them.
// It is for checking headers, never for binding or dialling.
func IsBrowserHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(hostOf(host), "."))
	if strings.HasSuffix(h, ".localhost") && !strings.Contains(h, ":") {
		return true
	}
	return IsHost(h)
}

// hostOf returns the host of "host:port", or host itself without brackets.
func hostOf(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		return host[1 : len(host)-1]
	}
	return host
}
