package router

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/canaryflow/canaryflow/internal/loopback"
)

// ErrSelfTarget is returned for a target that is one of the router's own
// listeners: every request sent there would come back and be sent there
// again until memory and sockets run out.
var ErrSelfTarget = errors.New("target is one of this proxy's own listen addresses")

// SameEndpoint reports whether connecting to target (host:port, or a
// canonical target "http://host:port") reaches a socket listening on listen
// (host:port as given to net.Listen). Host names are not looked up, but for
// "localhost", which is loopback; a listener on the unspecified address
// (0.0.0.0, ::, or no host) takes connections to loopback and to every
// address of the machine's interfaces, and a connection to the unspecified
// address reaches loopback. A target named by another host name that points
// back at the listener is caught when its first request comes back (see
// Via in loop.go).
func SameEndpoint(listen, target string) bool {
	lhost, lport, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	thost, tport, err := net.SplitHostPort(strings.TrimPrefix(target, "http://"))
	if err != nil || lport != tport || lport == "0" {
		return false
	}
	lips, ok1 := hostAddrs(lhost)
	tips, ok2 := hostAddrs(thost)
	if !ok1 || !ok2 {
		return strings.EqualFold(lhost, thost) // two names: only the same name is known to match
	}
	for _, l := range lips {
		for _, t := range tips {
			if reaches(t, l) {
				return true
			}
		}
	}
	return false
}

// hostAddrs returns the addresses host stands for without a DNS lookup:
// itself for an IP literal, loopback for "localhost" and the unspecified
// address for an empty host; ok is false for other names.
func hostAddrs(host string) (addrs []netip.Addr, ok bool) {
	if host == "" {
		return []netip.Addr{netip.IPv4Unspecified()}, true
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, true
	}
	if loopback.IsHost(host) { // a loopback name: "localhost"
		return []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}, true
	}
	return nil, false
}

// reaches reports whether a connection to address t arrives at a listener
// bound to address l.
func reaches(t, l netip.Addr) bool {
	if t.IsUnspecified() {
		t = netip.AddrFrom4([4]byte{127, 0, 0, 1}) // what the kernel connects 0.0.0.0 to
	}
	if t == l {
		return true
	}
	if !l.IsUnspecified() {
		return false
	}
	if t.IsLoopback() {
		return true
	}
	ifaces, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range ifaces {
		if p, err := netip.ParsePrefix(ia.String()); err == nil && p.Addr().Unmap() == t {
			return true
		}
	}
	return false
}

// selfAddrs are the addresses the router listens on, recorded as Serve and
// the admin endpoint bind them, so that Register refuses them as targets.
type selfAddrs struct {
	mu    sync.Mutex
	addrs []string
}

func (s *selfAddrs) add(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addrs = append(s.addrs, addr)
}

// match returns the listener that target would reach, or "".
func (s *selfAddrs) match(target string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.addrs {
		if SameEndpoint(a, target) {
			return a
		}
	}
	return ""
}
