package build

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// daemonSecrets are variables a user commonly has set when starting the
// daemon; none may reach a build that does not ask for it by name.
var daemonSecrets = map[string]string{
	"CANARYFLOW_WEBHOOK_SECRET": "webhook-secret-value-1",
	"CANARYFLOW_TOKEN":          "api-token-value-2",
	"CANARYFLOW_ADMIN_TOKEN":    "admin-token-value-3",
	"AWS_ACCESS_KEY_ID":         "AKIAEXAMPLEVALUE4",
	"AWS_SECRET_ACCESS_KEY":     "aws-secret-value-5",
	"AWS_SESSION_TOKEN":         "aws-session-value-6",
	"GITHUB_TOKEN":              "ghp_github-token-value-7",
	"GH_TOKEN":                  "gh-token-value-8",
	"CODEBUILD_FROM_DAEMON":     "not-set-by-the-runner-9",
}

func TestRunBuildspecEnvIsMinimal(t *testing.T) {
	for k, v := range daemonSecrets {
		t.Setenv(k, v)
	}
	t.Setenv("GOFLAGS_FOR_BUILD", "passed-through")
	t.Setenv("LC_ALL", "C")
	t.Setenv("HOME", t.TempDir())
	bs := mustParse(t, `version: 0.2
env:
  variables:
    FROM_BUILDSPEC: buildspec-value
phases:
  build:
    commands:
      - env
      - test -n "$PATH" && test -n "$HOME"
`)
	var log bytes.Buffer
	_, err := RunBuildspec(context.Background(), bs, RunOptions{
		Dir: t.TempDir(), Log: &log,
		Env:     map[string]string{"CODEBUILD_BUILD_ID": "hello:e-000001"},
		PassEnv: []string{"GOFLAGS_FOR_BUILD", "NOT_SET_ANYWHERE"},
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	out := log.String()
	for k, v := range daemonSecrets {
		if strings.Contains(out, k) || strings.Contains(out, v) {
			t.Errorf("the daemon's %s reached the build:\n%s", k, out)
		}
	}
	for _, want := range []string{"\nGOFLAGS_FOR_BUILD=passed-through\n", "\nLC_ALL=C\n", "\nFROM_BUILDSPEC=buildspec-value\n",
		"\nCODEBUILD_BUILD_ID=hello:e-000001\n", "\nCODEBUILD_SRC_DIR="} {
		if !strings.Contains(out, want) {
			t.Errorf("env lacks %q:\n%s", strings.TrimSpace(want), out)
		}
	}
	if strings.Contains(out, "NOT_SET_ANYWHERE") {
		t.Errorf("an unset pass_env variable was set:\n%s", out)
	}
}

func TestCommandEnv(t *testing.T) {
	got := commandEnv(
		[]string{"PATH=/bin", "HOME=/h", "LC_CTYPE=C.UTF-8", "GITHUB_TOKEN=x", "KEEP=1", "TMPDIR=/t", "=weird", "noequals"},
		[]string{"KEEP"},
		map[string]string{"TMPDIR": "/build/tmp", "B": "2", "A": "1"},
	)
	want := "PATH=/bin HOME=/h LC_CTYPE=C.UTF-8 KEEP=1 A=1 B=2 TMPDIR=/build/tmp"
	if strings.Join(got, " ") != want {
		t.Errorf("commandEnv = %v\nwant %s", got, want)
	}
}
