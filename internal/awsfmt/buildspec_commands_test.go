package awsfmt

import (
	"os"
	"strings"
	"testing"
)

// TestBuildspecCommandsNotStringsGuide: the guide's buildspec (§4.1.1) has
// two echo commands YAML reads as maps; both are found with their line and
// the quoted fix, and nothing else is.
func TestBuildspecCommandsNotStringsGuide(t *testing.T) {
	data, err := os.ReadFile("testdata/guide-buildspec.yml")
	if err != nil {
		t.Fatal(err)
	}
	bad := BuildspecCommandsNotStrings(data)
	if len(bad) != 2 {
		t.Fatalf("found %d commands, want 2: %+v", len(bad), bad)
	}
	want := []struct {
		line  int
		index int
		fix   string
	}{
		{10, 5, `- 'echo "Repository URI: $REPOSITORY_URI"'`},
		{11, 6, `- 'echo "Image Tag: $IMAGE_TAG"'`},
	}
	for i, w := range want {
		c := bad[i]
		if c.Line != w.line || c.Index != w.index || c.Phase != "pre_build" || c.Fix() != w.fix {
			t.Errorf("command %d = %+v (fix %s), want line %d index %d fix %s", i, c, c.Fix(), w.line, w.index, w.fix)
		}
		if msg := c.CodeBuildMessage(); !strings.HasPrefix(msg, "YAML_FILE_ERROR: Expected Commands[") || !strings.Contains(msg, "found subkeys instead") {
			t.Errorf("message %q is not CodeBuild's", msg)
		}
	}
	// Quoted as the fix says, the file has none left.
	fixed := string(data)
	for _, c := range bad {
		fixed = strings.Replace(fixed, "- "+c.Text, c.Fix(), 1)
	}
	if left := BuildspecCommandsNotStrings([]byte(fixed)); len(left) != 0 {
		t.Errorf("after the fix: %+v", left)
	}
}

// TestBuildspecCommandsNotStringsQuoting: a command holding a single quote
// is quoted by doubling it; flow lists and odd documents find nothing
// wrongly.
func TestBuildspecCommandsNotStringsQuoting(t *testing.T) {
	for _, tc := range []struct{ doc, fix string }{
		{"phases:\n  build:\n    commands:\n      - echo it's: here\n", `- 'echo it''s: here'`},
		{"phases:\n  build:\n    commands: [a, b]\n", ""},
		{"phases: [\n", ""},
		{"", ""},
		{"phases:\n  build:\n    commands:\n      - 'echo \"A: b\"'\n", ""},
	} {
		bad := BuildspecCommandsNotStrings([]byte(tc.doc))
		got := ""
		if len(bad) > 0 {
			got = bad[0].Fix()
		}
		if got != tc.fix {
			t.Errorf("%q: fix %q, want %q", tc.doc, got, tc.fix)
		}
	}
}

func FuzzBuildspecCommandsNotStrings(f *testing.F) {
	f.Add([]byte("phases:\n  build:\n    commands:\n      - echo \"A: b\"\n"))
	f.Add([]byte("phases: {build: {commands: [[x], {a: b}]}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range BuildspecCommandsNotStrings(data) {
			if c.Index < 0 || c.Kind == "" || !strings.HasPrefix(c.Fix(), "- '") {
				t.Fatalf("odd finding %+v", c)
			}
		}
	})
}
