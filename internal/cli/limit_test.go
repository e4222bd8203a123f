package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLimitsExitUsage: input past canaryflow's limits is a usage error
// (exit 2) with a message, never a panic or an unbounded read: a version
// number over 2^63-1, a bump that would pass it, and a configuration file
// that is not a regular file or is over 1 MiB.
func TestLimitsExitUsage(t *testing.T) {
	t.Setenv("GIT_AUTHOR_NAME", "t")
	t.Setenv("GIT_AUTHOR_EMAIL", "t@t")
	t.Setenv("GIT_COMMITTER_NAME", "t")
	t.Setenv("GIT_COMMITTER_EMAIL", "t@t")
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("CANARYFLOW_CONFIG", "")
	dir := t.TempDir()
	gitRun(t, dir, "init", "-q")
	if code, out := run(t, dir, "flow", "init"); code != ExitOK {
		t.Fatalf("flow init = %d: %s", code, out)
	}
	gitRun(t, dir, "tag", "v9223372036854775807.0.0")
	gitRun(t, dir, "switch", "-q", "develop")
	gitRun(t, dir, "commit", "-q", "--allow-empty", "-m", "feat!: breaking")
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("# comment\n", 210_000)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"version", "check", "18446744073709551615.0.0"}, "MAJOR is over the limit"},
		{[]string{"flow", "release", "start", "0.18446744073709551616.0"}, "MINOR is over the limit"},
		{[]string{"flow", "release", "start", "--bump", "major"}, "would pass the limit"},
		{[]string{"version", "next"}, "would pass the limit"},
		{[]string{"--config", "/dev/zero", "flow", "status"}, "/dev/zero: not a regular file"},
		{[]string{"--config", big, "flow", "status"}, "larger than 1048576 bytes"},
	} {
		code, out := run(t, dir, tc.args...)
		if code != ExitUsage || !strings.Contains(out, tc.want) {
			t.Errorf("%v = %d, %q; want %d and %q", tc.args, code, out, ExitUsage, tc.want)
		}
	}
}

// TestVersionFromRefusesDevices: image build's VERSION fallback does not
// read a VERSION linked to /dev/zero until memory runs out.
func TestVersionFromRefusesDevices(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "VERSION")); err != nil {
		t.Fatal(err)
	}
	if v := versionFrom("", dir); v != "" {
		t.Errorf("versionFrom = %q, want none", v)
	}
	if v := versionFrom("v1.2.3", dir); v != "1.2.3" {
		t.Errorf("versionFrom(tag) = %q", v)
	}
}
