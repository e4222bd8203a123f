package config

import (
	"reflect"
	"testing"

	"github.com/canaryflow/canaryflow/internal/flow"
)

// TestReleaseFlowOptions checks that every field of the release section
// reaches the flow's options, and that the defaults give options Validate
// accepts.
func TestReleaseFlowOptions(t *testing.T) {
	changelog := "docs/CHANGES.md"
	r := Release{Changelog: &changelog,
		MainBranch: "trunk", DevelopBranch: "dev", FeaturePrefix: "feat/", ReleasePrefix: "rel/",
		HotfixPrefix: "fix/", TagPrefix: "release-", Remote: "upstream", VersionFiles: []string{"VERSION.txt"},
	}
	want := flow.Options{
		MainBranch: "trunk", DevelopBranch: "dev", FeaturePrefix: "feat/", ReleasePrefix: "rel/",
		HotfixPrefix: "fix/", TagPrefix: "release-", Remote: "upstream", VersionFiles: []string{"VERSION.txt"},
		Changelog: "docs/CHANGES.md",
	}
	if got := r.FlowOptions(); !reflect.DeepEqual(got, want) {
		t.Errorf("FlowOptions = %+v, want %+v", got, want)
	}
	cfg, err := Parse("canaryflow.yaml", []byte("release: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Release.FlowOptions().Validate(); err != nil {
		t.Errorf("options from the default release section: %v", err)
	}
	if got := cfg.Release.FlowOptions().Changelog; got != "CHANGELOG.md" {
		t.Errorf("default changelog = %q, want CHANGELOG.md", got)
	}
	off, err := Parse("canaryflow.yaml", []byte("release:\n  changelog: \"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := off.Release.FlowOptions().Changelog; got != "" {
		t.Errorf(`release.changelog: "" gives changelog %q, want it off`, got)
	}
	for _, bad := range []string{"../CHANGELOG.md", "/etc/passwd", "-x"} {
		if _, err := Parse("canaryflow.yaml", []byte("release:\n  changelog: \""+bad+"\"\n")); err == nil {
			t.Errorf("release.changelog %q accepted", bad)
		}
	}
}
