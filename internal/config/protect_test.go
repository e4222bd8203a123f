package config

import (
	"strings"
	"testing"
)

// TestReleaseProtect checks the release.protect section: its defaults, and
// bad values refused with the file, line and field.
func TestReleaseProtect(t *testing.T) {
	cfg, err := Parse("canaryflow.yaml", []byte("release:\n  protect:\n    status_checks: [ci/build]\n    signed_commits: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Release.Protect
	if p.Approvals != 1 || p.TagCreators != "admin" || !p.SignedCommits || len(p.StatusChecks) != 1 || p.StatusChecks[0] != "ci/build" {
		t.Errorf("protect = %+v", p)
	}
	for _, tc := range []struct{ doc, want string }{
		{"release:\n  protect:\n    approvals: 11\n", "canaryflow.yaml:3: release.protect.approvals: 11: want 1 to 10"},
		{"release:\n  protect:\n    status_checks: [ci/build, \"\"]\n", `release.protect.status_checks[1]: "" must be a check name on one line`},
		{"release:\n  protect:\n    reviewers: 2\n", "unknown field"},
		{"release:\n  protect:\n    tag_creators: bots\n", `canaryflow.yaml:3: release.protect.tag_creators: "bots": want admin or anyone`},
	} {
		_, err := Parse("canaryflow.yaml", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.doc, err, tc.want)
		}
	}
}
