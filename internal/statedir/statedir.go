// Package statedir locates canaryflow's local state directory. It is a
// package of its own, importing nothing of canaryflow, so that the CLI and
// the standalone canaryflow-proxy agree on one place without the proxy
// linking the CLI.
package statedir

import (
	"fmt"
	"os"
	"path/filepath"
)

// Env names the variable that overrides the default state directory.
const Env = "CANARYFLOW_STATE_DIR"

// Resolve returns the state directory: flag when it is set, else $Env,
// else $XDG_STATE_HOME/canaryflow, else ~/.local/state/canaryflow.
func Resolve(flag string) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	if d := os.Getenv(Env); d != "" {
		return filepath.Abs(d)
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "canaryflow"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("state directory: %w (set --state-dir or %s)", err, Env)
	}
	return filepath.Join(home, ".local", "state", "canaryflow"), nil
}
