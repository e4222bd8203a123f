package loopback

import (
	"net/netip"
	"strings"
	"testing"
)

func TestIsHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.1:5055": true, "127.9.9.9:1": true, "localhost": true, "localhost:5000": true,
		"LocalHost:5000": true, "[::1]:5000": true, "::1": true, "[::1]": true, "::ffff:127.0.0.1": true,
		"[::ffff:127.0.0.2]:80": true,
		"10.0.0.1:5000":         false, "192.168.1.2": false, "registry.example:5000": false, "evil.example": false,
		"localhost.evil.example:5000": false, "127.0.0.1.evil.example": false, "127.evil.example": false,
		"127.1": false, "a.localhost": false, "localhost.": false, "0.0.0.0:80": false, "[::]:80": false,
		"::ffff:10.0.0.1": false, "": false, ":80": false, "[": false,
	} {
		if got := IsHost(host); got != want {
			t.Errorf("IsHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestIsBrowserHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost:7070": true, "localhost.:7070": true, "dash.localhost:7070": true, "A.LocalHost": true,
		"127.0.0.2:7070": true, "[::1]:7070": true,
		"localhost.evil.example:7070": false, "127.evil.example": false, "127.0.0.1.nip.io:7070": false,
		"evillocalhost": false, ".localhost.evil": false, "10.1.2.3": false, "": false,
	} {
		if got := IsBrowserHost(host); got != want {
			t.Errorf("IsBrowserHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// FuzzIsHost checks that whatever IsHost accepts is "localhost" or a
// loopback IP literal, and that IsBrowserHost accepts all of it.
func FuzzIsHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1:80", "localhost", "[::1]:1", "127.evil.example", "a.localhost:1", "[::ffff:127.0.0.1]", "[", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if IsBrowserHost(host) {
			h := strings.ToLower(strings.TrimSuffix(hostOf(host), "."))
			if a, err := netip.ParseAddr(h); !(err == nil && a.Unmap().IsLoopback()) && h != "localhost" && !strings.HasSuffix(h, ".localhost") {
				t.Fatalf("IsBrowserHost(%q): %q is not a loopback name or address", host, h)
			}
		}
		if !IsHost(host) {
			return
		}
		if !IsBrowserHost(host) {
			t.Fatalf("IsHost(%q) but not IsBrowserHost", host)
		}
		h := hostOf(host)
		if a, err := netip.ParseAddr(h); !(err == nil && a.Unmap().IsLoopback()) && !strings.EqualFold(h, "localhost") {
			t.Fatalf("IsHost(%q): %q is not localhost or a loopback address", host, h)
		}
	})
}
