package cli

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemo runs `canaryflow demo` with the process runtime and a short
// canary, and checks what a newcomer would read: three releases, the
// canary under load, the bad one rolled back, measured times, and no
// workspace left behind.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes about half a minute; skipped with -short")
	}
	parent := t.TempDir()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	err := runDemo(ctx, demoOptions{runtime: "process", rps: 200, dir: parent, canary: 3 * time.Second}, &out)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"production answers: Version: 1.0.0",
		"production answers: Version: 1.1.0",
		"green  10.0%",
		"v1.1.0   deployed",
		"v1.2.0   rolled back",
		"alarm: error rate",
		"(v1.2.0 rolled back; 1.1.0 kept serving)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
	}
	if !regexp.MustCompile(`v1\.1\.0 +deployed +[0-9.]+m?s`).MatchString(s) {
		t.Errorf("no tag → canary time measured for v1.1.0:\n%s", s)
	}
	if !regexp.MustCompile(`v1\.2\.0 +rolled back \(\w+\) +[0-9.]+m?s +[0-9.]+m?s`).MatchString(s) {
		t.Errorf("no fault → rollback time measured for v1.2.0:\n%s", s)
	}
	if m := regexp.MustCompile(`1\.1\.0 \d+ requests, (\d+) errors`).FindStringSubmatch(s); m == nil || m[1] != "0" {
		t.Errorf("requests to 1.1.0 failed during its canary: %v\n%s", m, s)
	}
	left, _ := os.ReadDir(parent)
	if len(left) != 0 {
		t.Errorf("workspace left behind: %v", left)
	}
}

func TestDemoBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--runtime", "kubernetes"},
		{"demo", "--rps", "0"},
		{"demo", "--canary", "1ms"},
		{"demo", "extra"},
	} {
		var out bytes.Buffer
		if code := Run(context.Background(), args, strings.NewReader(""), &out, &out); code != ExitUsage {
			t.Errorf("%v = %d, want %d: %s", args, code, ExitUsage, out.String())
		}
	}
}
