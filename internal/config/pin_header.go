package config

import (
	"regexp"

	"github.com/canaryflow/canaryflow/internal/router"
)

// PinHeader is service.pin_header: the request header with which a client
// that knows the secret sends a request to one group of the daemon's
// router whatever the weights, as "NAME: green:SECRET" or
// "NAME: blue:SECRET". The secret is read from the environment variable
// SecretEnv when the daemon starts, never written in the file. The zero
// value disables pinning.
type PinHeader struct {
	// Name is the header, e.g. X-Canaryflow-Target. Empty disables pinning.
	Name string `yaml:"name"`
	// SecretEnv names the variable holding the secret (at least 16
	// characters). Zero means router.PinSecretEnv.
	SecretEnv string `yaml:"secret_env"`
}

var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func (p *PinHeader) applyDefaults() {
	if p.Name != "" && p.SecretEnv == "" {
		p.SecretEnv = router.PinSecretEnv
	}
}

// problems returns the invalid fields, each as {field, message}.
func (p PinHeader) problems() [][2]string {
	var out [][2]string
	if p.Name != "" && !headerName.MatchString(p.Name) {
		out = append(out, [2]string{"name", "\"" + p.Name + "\" is not a header name"})
	}
	if p.SecretEnv != "" && !envVarName.MatchString(p.SecretEnv) {
		out = append(out, [2]string{"secret_env", "\"" + p.SecretEnv + "\" is not an environment variable name"})
	}
	if p.Name == "" && p.SecretEnv != "" {
		out = append(out, [2]string{"name", "secret_env is set but no header name"})
	}
	return out
}
