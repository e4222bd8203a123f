package server

import (
	"fmt"
	"os"

	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/router"
)

// pinOptions returns the router's pin header and its secret for
// service.pin_header, the secret read from the environment (getenv; nil is
// os.Getenv). A named header without a secret long enough is an error:
// the daemon does not start with a pin anyone could guess.
func pinOptions(p config.PinHeader, getenv func(string) string) (name, secret string, err error) {
	if p.Name == "" {
		return "", "", nil
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	secret = getenv(p.SecretEnv)
	if len(secret) < router.MinPinSecret {
		return "", "", fmt.Errorf("service.pin_header %s: $%s must hold the pin secret, at least %d characters", p.Name, p.SecretEnv, router.MinPinSecret)
	}
	return p.Name, secret, nil
}
