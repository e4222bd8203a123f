package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadMissingFileGivesDefaults(t *testing.T) {
	c, err := Load(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	r := c.Release
	if r.MainBranch != "main" || r.DevelopBranch != "develop" || r.TagPrefix != "v" ||
		r.ReleasePrefix != "release/" || r.HotfixPrefix != "hotfix/" || r.FeaturePrefix != "feature/" ||
		strings.Join(r.VersionFiles, ",") != "package.json,VERSION" || r.Remote != "origin" {
		t.Errorf("defaults = %+v", r)
	}
	if c.Path != "" {
		t.Errorf("Path = %q, want empty for defaults", c.Path)
	}
}

func TestLoadExplicitMissingFileIsAnError(t *testing.T) {
	if _, err := Load(t.TempDir(), filepath.Join(t.TempDir(), "nope.yaml")); err == nil {
		t.Fatal("want an error for an explicitly named file that does not exist")
	}
}

func TestParseOverrides(t *testing.T) {
	c, err := Parse("c.yaml", []byte("release:\n  main_branch: master\n  tag_prefix: rel-\n  version_files: [VERSION]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Release.MainBranch != "master" || c.Release.TagPrefix != "rel-" || c.Release.VersionTag("1.0.0") != "rel-1.0.0" {
		t.Errorf("got %+v", c.Release)
	}
	c, err = Parse("c.yaml", []byte("release:\n  no_tag_prefix: true\n"))
	if err != nil || c.Release.VersionTag("1.0.0") != "1.0.0" {
		t.Errorf("no_tag_prefix: %v %+v", err, c.Release)
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"unknown key", "release:\n  main_brnch: x\n", "c.yaml:2"},
		{"bad yaml", "release:\n  main_branch: [\n", "c.yaml:"},
		{"wrong type", "release:\n  version_files: 3\n", "c.yaml:2"},
		{"option-like branch", "release:\n  main_branch: --upload-pack=x\n", "c.yaml:2: release.main_branch"},
		{"shell in branch", "release:\n\n  develop_branch: \"dev;rm -rf\"\n", "c.yaml:3: release.develop_branch"},
		{"same branches", "release:\n  main_branch: main\n  develop_branch: main\n", "release.develop_branch: must differ"},
		{"prefix without slash", "release:\n  feature_prefix: feat\n", "c.yaml:2: release.feature_prefix"},
		{"duplicate prefix", "release:\n  release_prefix: x/\n  hotfix_prefix: x/\n", "release.hotfix_prefix: same as release_prefix"},
		{"absolute version file", "release:\n  version_files:\n    - /etc/passwd\n", "c.yaml:3: release.version_files[0]"},
		{"escaping version file", "release:\n  version_files: [../x]\n", "release.version_files[0]"},
		{"bad tag prefix", "release:\n  tag_prefix: \"-v\"\n", "c.yaml:2: release.tag_prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatalf("no error for %q", tc.doc)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *config.Error", err)
			}
		})
	}
}

func TestLoadReadsFileInDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("release:\n  develop_branch: dev\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Release.DevelopBranch != "dev" || c.Path != filepath.Join(dir, FileName) {
		t.Errorf("got %+v from %s", c.Release, c.Path)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("release:\n  main_branch: main\n"))
	f.Add([]byte("release:\n  version_files: [a, b]\n"))
	f.Add([]byte("{"))
	f.Add([]byte("---\n# only a comment\n"))
	f.Add([]byte("release:\n  - a\n"))
	f.Add([]byte("service:\n  name: x\n  hooks:\n    - &a [1, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if err != nil {
			// Every refusal is the one file:line type, in the file's words.
			var fe *Error
			if !errors.As(err, &fe) && !strings.Contains(err.Error(), "f.yaml") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		// Whatever parses must be safe to hand to git.
		for _, n := range []string{c.Release.MainBranch, c.Release.DevelopBranch, c.Release.Remote} {
			if ValidRefPart(n) != "" {
				t.Fatalf("accepted unsafe name %q", n)
			}
		}
	})
}
