package config

import (
	"errors"
	"strings"
	"testing"
)

// TestDecodeErrorsNameTheField checks that a value of the wrong kind is
// reported with the file, the line of its key, the YAML path and the kinds
// in the file's words, never Go's type names.
func TestDecodeErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"release:\n  - a\n", "c.yaml:1: release: want a map of settings, got a list"},
		{"release: [a, b]\n", "c.yaml:1: release: want a map of settings, got a list"},
		{"release:\n  main_branch: [a]\n", "c.yaml:2: release.main_branch: want text, got a list"},
		{"service: 5\n", "c.yaml:1: service: want a map of settings, got a whole number"},
		{"pipeline: []\n", "c.yaml:1: pipeline: want a map of settings, got a list"},
		{"service:\n  name: x\n  desired_count: abc\n", "c.yaml:3: service.desired_count: want a whole number, got text"},
		{"service:\n  name: x\n  hooks:\n    - a\n", "c.yaml:3: service.hooks: want a map of settings, got a list"},
		{"service:\n  name: x\n  deployment_config: {type: TimeBasedCanary, percent: 0.01, interval: 5m}\n",
			"c.yaml:3: service.deployment_config: percent 0.01: want a whole number"},
	} {
		_, err := Parse("c.yaml", []byte(tc.doc))
		if err == nil {
			t.Errorf("%q: no error", tc.doc)
			continue
		}
		var fe *Error
		if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s…", tc.doc, err, tc.want)
		}
		if strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "interface {}") {
			t.Errorf("%q: the error names Go types: %v", tc.doc, err)
		}
	}
}

// TestEmptyAndMissingFiles: a file of only "---" or comments is an empty
// file (defaults), not "EOF"; a missing --config says to run init; and a
// command needing a section tells the three cases apart.
func TestEmptyAndMissingFiles(t *testing.T) {
	for _, doc := range []string{"", "---\n", "# nothing yet\n", "---\n# x\n"} {
		c, err := Parse("c.yaml", []byte(doc))
		if err != nil || !c.Empty || c.Release.MainBranch != "main" {
			t.Errorf("%q: %v, empty %v", doc, err, c != nil && c.Empty)
			continue
		}
		if m := c.Missing("service"); !strings.Contains(m, "c.yaml is empty") {
			t.Errorf("%q: Missing = %q", doc, m)
		}
	}
	_, err := Load(t.TempDir(), "nosuch.yaml")
	var fe *Error
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "nosuch.yaml: no such file") || !strings.Contains(err.Error(), "canaryflow init") {
		t.Errorf("missing --config: %v", err)
	}
	c, err := Load(t.TempDir(), "")
	if err != nil || !strings.Contains(c.Missing("service"), "no canaryflow.yaml") {
		t.Errorf("no file: %v %q", err, c.Missing("service"))
	}
	c, _ = Parse("c.yaml", []byte("release: {tag_prefix: v}\n"))
	if m := c.Missing("service"); !strings.Contains(m, "c.yaml has no service section") {
		t.Errorf("no section: %q", m)
	}
}
