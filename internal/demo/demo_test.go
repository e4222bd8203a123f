package demo

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the demo with the process runtime and a short
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
	err := Run(ctx, Options{Runtime: "process", RPS: 200, Dir: parent, Canary: 3 * time.Second}, &out)
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
		"$ canaryflow protect",
		"refused: protected branches advance only by merge commits",
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

// TestOptionsValidate checks the ranges Run accepts, in the words of the
// command's flags; Run refuses bad options before it creates anything.
func TestOptionsValidate(t *testing.T) {
	good := Options{Runtime: "auto", RPS: 200, Canary: 10 * time.Second}
	if err := good.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"zero", func(o *Options) { *o = Options{} }, `--runtime "": want auto, docker or process`},
		{"runtime", func(o *Options) { o.Runtime = "kubernetes" }, `--runtime "kubernetes": want auto, docker or process`},
		{"rps low", func(o *Options) { o.RPS = 19 }, "--rps 19: want 20 to 5000"},
		{"rps high", func(o *Options) { o.RPS = 5001 }, "--rps 5001: want 20 to 5000"},
		{"canary short", func(o *Options) { o.Canary = time.Millisecond }, "--canary 1ms: want 2s to 10m"},
		{"canary long", func(o *Options) { o.Canary = 11 * time.Minute }, "--canary 11m0s: want 2s to 10m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			o.Dir = t.TempDir()
			tc.edit(&o)
			err := Run(context.Background(), o, io.Discard)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Run = %v, want %q", err, tc.want)
			}
			if left, _ := os.ReadDir(o.Dir); len(left) != 0 {
				t.Errorf("Run with bad options created %v", left)
			}
		})
	}
}
