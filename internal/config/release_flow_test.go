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
	r := Release{
		MainBranch: "trunk", DevelopBranch: "dev", FeaturePrefix: "feat/", ReleasePrefix: "rel/",
		HotfixPrefix: "fix/", TagPrefix: "release-", Remote: "upstream", VersionFiles: []string{"VERSION.txt"},
	}
	want := flow.Options{
		MainBranch: "trunk", DevelopBranch: "dev", FeaturePrefix: "feat/", ReleasePrefix: "rel/",
		HotfixPrefix: "fix/", TagPrefix: "release-", Remote: "upstream", VersionFiles: []string{"VERSION.txt"},
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
}
