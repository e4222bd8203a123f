package cli

import (
	"runtime/debug"
	"strings"
)

// Version is canaryflow's own version, stamped at build time with
// -ldflags "-X github.com/canaryflow/canaryflow/internal/cli.Version=X.Y.Z".
// Unstamped builds say "dev".
var Version = "dev"

// Commit is the commit canaryflow was built from, stamped with
// -X github.com/canaryflow/canaryflow/internal/cli.Commit=SHA by `make build`
// for builds where Go records no VCS information (-buildvcs=false, a
// source tarball). Go's own record wins when there is one.
var Commit = ""

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
		if rev == "" && Commit != "" {
			rev = Commit[:min(12, len(Commit))]
		}
		if rev != "" {
			parts = append(parts, "commit "+rev+dirty)
		}
		parts = append(parts, bi.GoVersion)
	} else if Commit != "" {
		parts = append(parts, "commit "+Commit[:min(12, len(Commit))])
	}
	return strings.Join(parts, ", ")
}
