package pipeline

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canaryflow/canaryflow/internal/flow"
)

func flowOpts() flow.Options {
	return flow.Options{MainBranch: "main", DevelopBranch: "develop", FeaturePrefix: "feature/",
		ReleasePrefix: "release/", HotfixPrefix: "hotfix/", TagPrefix: "v", Remote: "origin",
		VersionFiles: []string{"package.json", "VERSION"}}
}

// releaseWith commits files on main, tags it and pushes; returns the mirror
// a source made and the release.
func releaseWith(t *testing.T, files map[string]string, tag string) (string, Release) {
	t.Helper()
	origin, work := remoteRepo(t)
	mirror := filepath.Join(t.TempDir(), "mirror")
	src, _ := NewSource(SourceOptions{URL: origin, MirrorDir: mirror})
	if _, err := src.Poll(context.Background()); err != nil { // baseline
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(work, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		gitCmd(t, work, "add", name)
	}
	gitCmd(t, work, "commit", "-q", "-m", "release")
	gitCmd(t, work, "tag", "-a", "-m", tag, tag)
	gitCmd(t, work, "push", "-q", "origin", "main", tag)
	rels, err := src.Poll(context.Background())
	if err != nil || len(rels) != 1 {
		t.Fatalf("poll: %v %v", rels, err)
	}
	return mirror, rels[0]
}

func TestBuildStageRunsBuildspecAndImage(t *testing.T) {
	mirror, r := releaseWith(t, map[string]string{
		"VERSION": "1.2.3\n",
		".buildspec.yml": `version: 0.2
env:
  secrets-manager:
    NPM_TOKEN: prod/npm:token
phases:
  build:
    commands:
      - echo "building $CANARYFLOW_VERSION at $CODEBUILD_RESOLVED_SOURCE_VERSION with $NPM_TOKEN"
      - echo built > out.txt
artifacts:
  files: [out.txt]
`,
	}, "v1.2.3")
	var imageWS string
	stage := BuildStage(BuildStageOptions{
		MirrorDir: mirror, WorkRoot: t.TempDir(), Flow: flowOpts(),
		Getenv:    func(k string) string { return map[string]string{"NPM_TOKEN": "npm_supersecret"}[k] },
		SecretEnv: []string{"NPM_TOKEN"},
		Image: func(ctx context.Context, ws string, e *Execution, log io.Writer) (string, error) {
			imageWS = ws
			b, err := os.ReadFile(filepath.Join(ws, "out.txt"))
			if err != nil || string(b) != "built\n" {
				t.Errorf("the image step does not see the buildspec's output: %q %v", b, err)
			}
			return "127.0.0.1:5000/hello:1.2.3@sha256:abc", nil
		},
	})
	e := &Execution{ID: "e-000001", Tag: r.Tag, Version: r.Version.String(), Commit: r.Commit, Trigger: "poll"}
	var log bytes.Buffer
	if err := stage.Run(context.Background(), e, &log); err != nil {
		t.Fatalf("build: %v\n%s", err, log.String())
	}
	if e.Image != "127.0.0.1:5000/hello:1.2.3@sha256:abc" {
		t.Errorf("image = %q", e.Image)
	}
	out := log.String()
	if !strings.Contains(out, "building 1.2.3 at "+r.Commit+" with ***") || strings.Contains(out, "supersecret") {
		t.Errorf("log:\n%s", out)
	}
	if _, err := os.Stat(imageWS); !os.IsNotExist(err) {
		t.Errorf("workspace %s left behind", imageWS)
	}
}

func TestBuildStageVersionCheckFails(t *testing.T) {
	mirror, r := releaseWith(t, map[string]string{
		"VERSION":      "1.2.2\n",
		"package.json": `{"name":"x","version":"1.2.3"}`,
	}, "v1.2.3")
	called := false
	stage := BuildStage(BuildStageOptions{MirrorDir: mirror, WorkRoot: t.TempDir(), Flow: flowOpts(),
		Image: func(context.Context, string, *Execution, io.Writer) (string, error) { called = true; return "", nil }})
	e := &Execution{ID: "e-000002", Tag: r.Tag, Version: r.Version.String(), Commit: r.Commit}
	err := stage.Run(context.Background(), e, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "version check: tag v1.2.3 but VERSION says 1.2.2") {
		t.Errorf("err = %v", err)
	}
	if called {
		t.Error("the image was built although the version check failed")
	}
}

func TestBuildStageBadBuildspec(t *testing.T) {
	mirror, r := releaseWith(t, map[string]string{
		"VERSION":        "2.0.0\n",
		".buildspec.yml": "version: 0.2\nphases:\n  biuld:\n    commands: [make]\n",
	}, "v2.0.0")
	stage := BuildStage(BuildStageOptions{MirrorDir: mirror, WorkRoot: t.TempDir(), Flow: flowOpts(),
		Image: func(context.Context, string, *Execution, io.Writer) (string, error) { return "x", nil }})
	e := &Execution{ID: "e-000003", Tag: r.Tag, Version: r.Version.String(), Commit: r.Commit}
	err := stage.Run(context.Background(), e, io.Discard)
	if err == nil || !strings.Contains(err.Error(), ".buildspec.yml:3: phases.biuld: unknown phase") {
		t.Errorf("err = %v", err)
	}
	e.Commit = "--upload-pack=touch /tmp/x"
	if err := stage.Run(context.Background(), e, io.Discard); err == nil || !strings.Contains(err.Error(), "not an object name") {
		t.Errorf("option-like commit: %v", err)
	}
}

func TestBuildStageKeepsTheDaemonsEnvironment(t *testing.T) {
	t.Setenv("CANARYFLOW_WEBHOOK_SECRET", "webhook-secret-in-daemon")
	t.Setenv("GITHUB_TOKEN", "ghp_token-in-daemon")
	t.Setenv("BUILD_CACHE_DIR", "/var/cache/build")
	mirror, r := releaseWith(t, map[string]string{
		"VERSION":        "1.0.0\n",
		".buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands:\n      - env\n",
	}, "v1.0.0")
	stage := BuildStage(BuildStageOptions{MirrorDir: mirror, WorkRoot: t.TempDir(), Flow: flowOpts(),
		PassEnv: []string{"BUILD_CACHE_DIR"},
		Image:   func(context.Context, string, *Execution, io.Writer) (string, error) { return "x", nil }})
	e := &Execution{ID: "e-000004", Tag: r.Tag, Version: r.Version.String(), Commit: r.Commit}
	var log bytes.Buffer
	if err := stage.Run(context.Background(), e, &log); err != nil {
		t.Fatalf("build: %v\n%s", err, log.String())
	}
	out := log.String()
	if strings.Contains(out, "in-daemon") || !strings.Contains(out, "\nBUILD_CACHE_DIR=/var/cache/build\n") ||
		!strings.Contains(out, "\nCODEBUILD_RESOLVED_SOURCE_VERSION="+r.Commit+"\n") {
		t.Errorf("build environment:\n%s", out)
	}

	// A buildspec cannot ask for a daemon variable by naming it a secret.
	mirror, r = releaseWith(t, map[string]string{
		"VERSION": "1.1.0\n",
		".buildspec.yml": "version: 0.2\nenv:\n  parameter-store:\n    CANARYFLOW_WEBHOOK_SECRET: /any\n" +
			"phases:\n  build:\n    commands:\n      - printf '%s' \"$CANARYFLOW_WEBHOOK_SECRET\" > got\n",
	}, "v1.1.0")
	stage = BuildStage(BuildStageOptions{MirrorDir: mirror, WorkRoot: t.TempDir(), Flow: flowOpts(),
		Image: func(context.Context, string, *Execution, io.Writer) (string, error) { return "x", nil }})
	e = &Execution{ID: "e-000005", Tag: r.Tag, Version: r.Version.String(), Commit: r.Commit}
	err := stage.Run(context.Background(), e, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "secret CANARYFLOW_WEBHOOK_SECRET (/any on AWS) is not set") {
		t.Errorf("a buildspec naming the daemon's secret: err = %v", err)
	}
}
