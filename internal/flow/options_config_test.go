package flow

import (
	"reflect"
	"testing"

	"github.com/canaryflow/canaryflow/internal/config"
)

// TestOptionsFrom checks that every field of the release section reaches
// the flow's options, and that the defaults config applies give options
// Validate accepts.
func TestOptionsFrom(t *testing.T) {
	r := config.Release{
		MainBranch: "trunk", DevelopBranch: "dev", FeaturePrefix: "feat/", ReleasePrefix: "rel/",
		HotfixPrefix: "fix/", TagPrefix: "release-", Remote: "upstream", VersionFiles: []string{"VERSION.txt"},
	}
	want := Options{
		MainBranch: "trunk", DevelopBranch: "dev", FeaturePrefix: "feat/", ReleasePrefix: "rel/",
		HotfixPrefix: "fix/", TagPrefix: "release-", Remote: "upstream", VersionFiles: []string{"VERSION.txt"},
	}
	if got := OptionsFrom(r); !reflect.DeepEqual(got, want) {
		t.Errorf("OptionsFrom = %+v, want %+v", got, want)
	}
	cfg, err := config.Parse("canaryflow.yaml", []byte("release: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := OptionsFrom(cfg.Release).Validate(); err != nil {
		t.Errorf("options from the default release section: %v", err)
	}
}
