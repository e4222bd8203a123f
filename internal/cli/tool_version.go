package cli

import (
	"runtime/debug"
	"strings"
)

// Version is canaryflow's own version, stamped at build time with
// -ldflags "-X github.com/canaryflow/canaryflow/internal/cli.Version=X.Y.Z".
// Unstamped builds say "dev".
var Version = "dev"

// toolVersion is what `canaryflow --version` prints after the name: the
// version, the commit it was built from when Go recorded one, and the Go
// release.
func toolVersion() string {
	parts := []string{Version}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value[:min(12, len(s.Value))]
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			parts = append(parts, "commit "+rev+dirty)
		}
		parts = append(parts, bi.GoVersion)
	}
	return strings.Join(parts, ", ")
}
