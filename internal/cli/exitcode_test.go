package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// gitRun runs git in dir for test setup.
func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// gitEnv gives git an author and no user or system configuration for the
// rest of the test.
func gitEnv(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
		"GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"} {
		t.Setenv(k, v)
	}
}

func run(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), append([]string{"-C", dir}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String() + errb.String()
}

// TestExitCodes checks the documented exit codes: 0 success, 1 failure,
// 2 bad input, 3 stopped on a merge conflict.
func TestExitCodes(t *testing.T) {
	gitEnv(t)
	dir := t.TempDir()
	gitRun(t, dir, "init", "-q")
	if code, out := run(t, dir, "flow", "init"); code != ExitOK {
		t.Fatalf("flow init = %d: %s", code, out)
	}
	gitRun(t, dir, "switch", "-q", "develop")
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("0.0.0\n")
	gitRun(t, dir, "add", "VERSION")
	gitRun(t, dir, "commit", "-q", "-m", "v")

	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"flow", "release", "start", "1.2"}, ExitUsage},
		{[]string{"flow", "release", "start", "--", "--upload-pack=x"}, ExitUsage},
		{[]string{"flow", "release", "start", "--nope"}, ExitUsage},
		{[]string{"flow", "feature", "start"}, ExitUsage},
		{[]string{"version", "check", "1.0.0"}, ExitError}, // VERSION says 0.0.0
	} {
		if code, out := run(t, dir, tc.args...); code != tc.want {
			t.Errorf("%v = %d, want %d: %s", tc.args, code, tc.want, out)
		}
	}

	// A release whose back-merge conflicts with develop exits 3.
	notes := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "NOTES"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	notes("base\n")
	gitRun(t, dir, "add", "NOTES")
	gitRun(t, dir, "commit", "-q", "-m", "notes")
	if code, out := run(t, dir, "flow", "release", "start", "1.0.0"); code != ExitOK {
		t.Fatalf("release start = %d: %s", code, out)
	}
	notes("release\n")
	gitRun(t, dir, "commit", "-q", "-am", "release edits NOTES")
	gitRun(t, dir, "switch", "-q", "develop")
	notes("develop\n")
	gitRun(t, dir, "commit", "-q", "-am", "develop edits NOTES")
	code, out := run(t, dir, "flow", "release", "finish", "1.0.0")
	if code != ExitConflict {
		t.Fatalf("release finish with conflict = %d, want %d: %s", code, ExitConflict, out)
	}
	if !strings.Contains(out, "NOTES") || !strings.Contains(out, "--continue") {
		t.Errorf("conflict message lacks the file or the next step: %s", out)
	}
	if code, out := run(t, dir, "flow", "release", "finish", "--abort"); code != ExitOK {
		t.Fatalf("abort = %d: %s", code, out)
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	root := newRootCommand(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	for _, c := range allCommands(root) {
		if c.Short == "" {
			t.Errorf("%q has no short help", c.CommandPath())
		}
		var out bytes.Buffer
		args := append(strings.Fields(c.CommandPath())[1:], "--help")
		if code := Run(context.Background(), args, strings.NewReader(""), &out, &out); code != 0 {
			t.Errorf("%v = %d", args, code)
		}
		if !strings.Contains(out.String(), "Usage:") {
			t.Errorf("%v prints no usage", args)
		}
	}
}

func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, s := range c.Commands() {
		if s.Hidden || s.Name() == "help" {
			continue
		}
		out = append(out, allCommands(s)...)
	}
	return out
}
