package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// complete runs cobra's hidden __complete command as a shell does and
// returns the offered words.
func complete(t *testing.T, args ...string) []string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := Run(context.Background(), append([]string{"__complete"}, args...), strings.NewReader(""), &out, &errb); code != ExitOK {
		t.Fatalf("__complete %v = %d: %s%s", args, code, out.String(), errb.String())
	}
	var words []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" || strings.HasPrefix(line, ":") {
			continue // the directive line
		}
		word, _, _ := strings.Cut(line, "\t")
		words = append(words, word)
	}
	return words
}

// TestCompletion: -o offers the formats; flow's finish commands offer the
// open branches of their kind without the prefix; deploy status offers
// the daemon's deployments, newest first.
func TestCompletion(t *testing.T) {
	gitEnv(t)
	dir := t.TempDir()
	gitRun(t, dir, "init", "-q")
	for _, args := range [][]string{{"flow", "init"}, {"flow", "feature", "start", "login"}, {"flow", "feature", "start", "search"}} {
		if code, out := run(t, dir, args...); code != ExitOK {
			t.Fatalf("%v = %d: %s", args, code, out)
		}
		gitRun(t, dir, "switch", "-q", "develop")
	}
	if code, out := run(t, dir, "flow", "release", "start", "1.0.0"); code != ExitOK {
		t.Fatalf("release start = %d: %s", code, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "-o", ""}, "text json yaml"},
		{[]string{"flow", "status", "-o", ""}, "text json yaml"},
		{[]string{"-C", dir, "flow", "feature", "finish", ""}, "login search"},
		{[]string{"-C", dir, "flow", "feature", "delete", ""}, "login search"},
		{[]string{"-C", dir, "flow", "release", "finish", ""}, "1.0.0"},
		{[]string{"-C", dir, "flow", "hotfix", "finish", ""}, ""},
		{[]string{"-C", dir, "flow", "feature", "finish", "login", ""}, ""}, // one argument only
	} {
		if got := strings.Join(complete(t, tc.args...), " "); got != tc.want {
			t.Errorf("complete %v = %q, want %q", tc.args, got, tc.want)
		}
	}

	addr, _ := fakeDaemon(t)
	for _, sub := range []string{"status", "approve", "stop"} {
		if got := strings.Join(complete(t, "deploy", sub, "--api", addr, "--token", "t", ""), " "); got != "d-000002 d-000001" {
			t.Errorf("complete deploy %s = %q, want the deployments newest first", sub, got)
		}
	}
	for _, sub := range []string{"show", "logs"} {
		if got := strings.Join(complete(t, "pipeline", sub, "--api", addr, "--token", "t", ""), " "); got != "e-000002 e-000001" {
			t.Errorf("complete pipeline %s = %q, want the executions newest first", sub, got)
		}
	}
}
