package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/canaryflow/canaryflow/internal/registry"
)

// AllowedRegistriesKey is the key that lists the registries the daemon may
// deploy images from, as errors name it.
const AllowedRegistriesKey = "service.allowed_registries"

// validateAllowedRegistries checks that every entry is a registry
// host[:port] as image references write it.
func (s *Service) validateAllowedRegistries(bad func(field, format string, a ...any)) {
	for i, h := range s.AllowedRegistries {
		if err := registry.ValidateHost(h); err != nil {
			msg := err.Error()
			if ne := (*registry.NameError)(nil); errors.As(err, &ne) {
				msg = ne.Reason
			}
			bad(fmt.Sprintf("allowed_registries[%d]", i), "%q: %s", h, msg)
		}
	}
}

// AllowsRegistry reports whether images from host (host[:port] as an image
// reference names it) may be deployed: host is one of AllowedRegistries,
// compared exactly but for the case of letters. The embedded registry is
// not listed; callers allow it themselves.
func (s *Service) AllowsRegistry(host string) bool {
	for _, h := range s.AllowedRegistries {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}
