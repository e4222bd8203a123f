package config

import (
	"errors"
	"strings"
	"testing"
)

func TestAllowedRegistriesDefaultsToNone(t *testing.T) {
	c, err := Parse("c.yaml", []byte("service:\n  name: hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Service.AllowedRegistries) != 0 || c.Service.AllowsRegistry("evil.example") {
		t.Fatalf("allowed_registries default = %q, want none", c.Service.AllowedRegistries)
	}
}

func TestAllowedRegistriesParse(t *testing.T) {
	c, err := Parse("c.yaml", []byte("service:\n  name: hello\n  allowed_registries: [ghcr.io, registry.example:5000, localhost:5000]\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Service
	for host, want := range map[string]bool{
		"ghcr.io": true, "GHCR.io": true, "registry.example:5000": true,
		"registry.example": false, "registry.example:5001": false, "ghcr.io:443": false, "evil.example": false,
	} {
		if got := s.AllowsRegistry(host); got != want {
			t.Errorf("AllowsRegistry(%q) = %v, want %v", host, got, want)
		}
	}
}

// A bad entry is a file:line error naming the entry, and nothing is loaded.
func TestAllowedRegistriesBadEntries(t *testing.T) {
	for _, entry := range []string{
		`"https://ghcr.io"`, `ghcr.io/team`, `"*.example"`, `ghcr.io:0`, `ghcr.io:70000`, `ghcr.io:x`,
		`myregistry`, `"ghcr.io "`, `"-bad.example"`, `"a..b"`, `""`, `"ghcr.io@sha256"`,
	} {
		doc := "service:\n  name: hello\n  allowed_registries:\n    - ghcr.io\n    - " + entry + "\n"
		_, err := Parse("c.yaml", []byte(doc))
		if err == nil {
			t.Errorf("entry %s: accepted", entry)
			continue
		}
		if ce := (*Error)(nil); !errors.As(err, &ce) {
			t.Errorf("entry %s: error %T is not a config *Error", entry, err)
		}
		if !strings.Contains(err.Error(), "c.yaml:5: service.allowed_registries[1]") {
			t.Errorf("entry %s: error %q does not name c.yaml:5 and the entry", entry, err)
		}
	}
}
