package server

import (
	"strings"
	"testing"

	"github.com/canaryflow/canaryflow/internal/config"
)

// TestPinOptions checks that service.pin_header takes its secret from the
// environment and refuses to run with none or a short one.
func TestPinOptions(t *testing.T) {
	env := map[string]string{"PIN": "0123456789abcdef", "SHORT": "abc"}
	getenv := func(k string) string { return env[k] }
	if name, secret, err := pinOptions(config.PinHeader{}, getenv); name != "" || secret != "" || err != nil {
		t.Errorf("no pin header: %q %q %v", name, secret, err)
	}
	if name, secret, err := pinOptions(config.PinHeader{Name: "X-Pin", SecretEnv: "PIN"}, getenv); name != "X-Pin" || secret != env["PIN"] || err != nil {
		t.Errorf("pin header: %q %q %v", name, secret, err)
	}
	for _, v := range []string{"SHORT", "UNSET"} {
		if _, _, err := pinOptions(config.PinHeader{Name: "X-Pin", SecretEnv: v}, getenv); err == nil || !strings.Contains(err.Error(), "$"+v+" must hold the pin secret") {
			t.Errorf("secret in %s: %v", v, err)
		}
	}
}
