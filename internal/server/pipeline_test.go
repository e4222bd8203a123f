package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/pipeline"
	"github.com/canaryflow/canaryflow/internal/registry"
)

// gitIn runs git in dir for test setup.
func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// helloRepo makes a bare origin and a work tree holding examples/hello as
// its own module, with a canaryflow.yaml of testDeploySettings.
func helloRepo(t *testing.T) (origin, work string) {
	t.Helper()
	origin, work = originAndWork(t, "hello")
	src, err := os.ReadFile("../../examples/hello/main.go")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(work, "main.go"), string(src))
	writeFile(t, filepath.Join(work, "go.mod"), "module example.com/hello\n\ngo 1.26\n")
	writeFile(t, filepath.Join(work, "VERSION"), "0.0.0\n")
	// A release's deployment settings come from its own canaryflow.yaml.
	writeFile(t, filepath.Join(work, "canaryflow.yaml"), "service:\n  name: hello\n  container: {port: 3000}\n"+testDeploySettings)
	gitIn(t, work, "add", ".")
	gitIn(t, work, "commit", "-q", "-m", "hello")
	gitIn(t, work, "push", "-q", "origin", "main")
	return origin, work
}

// originAndWork makes a bare origin and an empty work tree named name on
// main, with the origin as its remote.
func originAndWork(t *testing.T, name string) (origin, work string) {
	t.Helper()
	root := t.TempDir()
	origin, work = filepath.Join(root, "origin.git"), filepath.Join(root, name)
	gitIn(t, root, "init", "-q", "--bare", origin)
	gitIn(t, root, "init", "-q", "-b", "main", work)
	gitIn(t, work, "remote", "add", "origin", origin)
	return origin, work
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pushRelease sets VERSION, commits (with an optional change to main.go),
// tags and pushes, as `canaryflow flow release finish --push` would.
func pushRelease(t *testing.T, work, version, fileVersion string, edit func(string) string) {
	t.Helper()
	writeFile(t, filepath.Join(work, "VERSION"), fileVersion+"\n")
	if edit != nil {
		b, _ := os.ReadFile(filepath.Join(work, "main.go"))
		writeFile(t, filepath.Join(work, "main.go"), edit(string(b)))
	}
	gitIn(t, work, "commit", "-q", "--allow-empty", "-am", "release "+version)
	gitIn(t, work, "tag", "-a", "-m", "Release "+version, "v"+version)
	gitIn(t, work, "push", "-q", "origin", "main", "v"+version)
}

func (d *daemon) waitExecution(tag string) *pipeline.Execution {
	d.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		es, err := d.client.Executions(context.Background())
		if err != nil {
			d.t.Fatal(err)
		}
		for _, e := range es {
			if e.Tag == tag && e.Status.Done() {
				return &e
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("execution of %s did not end; executions: %+v", tag, es)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getVersion(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// pipelineConfig is the test service with a pipeline polling origin every
// 200 ms and building with image (go or dockerfile).
func pipelineConfig(t *testing.T, origin, image string) *config.Config {
	t.Helper()
	return testConfig(t, freePort(t), freePort(t), fmt.Sprintf("pipeline:\n  source: %s\n  poll_interval: 200ms\n  build: {image: %s}\n", origin, image))
}

// TestPipelineTagToCanary runs the whole local chain on a local bare
// repository: a pushed tag is built and deployed; a tag whose version
// files disagree never builds; a faulty version is rolled back by its alarm.
func TestPipelineTagToCanary(t *testing.T) {
	origin, work := helloRepo(t)
	state := t.TempDir()
	cfg := pipelineConfig(t, origin, "go")
	d := startDaemon(t, state, cfg)
	defer d.stopWithTasks(state, cfg)

	// First release: the first deployment has no blue, all traffic to it.
	pushRelease(t, work, "1.0.0", "1.0.0", nil)
	e := d.waitExecution("v1.0.0")
	if e.Status != pipeline.Succeeded {
		log, _ := d.client.ExecutionLogs(context.Background(), e.ID, false)
		b, _ := io.ReadAll(log)
		t.Fatalf("v1.0.0: %s %s\n%s", e.Status, e.Error, b)
	}
	if code, body := getVersion(t, d.prod); code != 200 || body != "Version: 1.0.0" {
		t.Fatalf("after v1.0.0: %d %q", code, body)
	}
	if !strings.Contains(e.Image, "/hello:1.0.0@sha256:") || e.DeploymentID == "" {
		t.Errorf("execution outputs: image %q deployment %q", e.Image, e.DeploymentID)
	}

	// A tag whose version file says otherwise fails the version check.
	pushRelease(t, work, "1.0.1", "1.0.0", nil)
	e = d.waitExecution("v1.0.1")
	if e.Status != pipeline.Failed || !strings.Contains(e.Error, "version check: tag v1.0.1 but VERSION says 1.0.0") || e.DeploymentID != "" {
		t.Errorf("v1.0.1: %s %q (deployment %q)", e.Status, e.Error, e.DeploymentID)
	}

	// Load on the production listener for the canaries below.
	var fives, total atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			code, _ := getVersion(t, d.prod)
			total.Add(1)
			if code >= 500 || code == 0 {
				fives.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	pushRelease(t, work, "1.1.0", "1.1.0", nil)
	if e = d.waitExecution("v1.1.0"); e.Status != pipeline.Succeeded {
		t.Fatalf("v1.1.0: %s %s", e.Status, e.Error)
	}
	if _, body := getVersion(t, d.prod); body != "Version: 1.1.0" {
		t.Fatalf("after v1.1.0: %q", body)
	}
	if f := fives.Load(); f != 0 {
		t.Errorf("%d of %d requests failed during a healthy canary", f, total.Load())
	}

	// A version that answers 500: its alarm rolls it back by itself.
	pushRelease(t, work, "1.2.0", "1.2.0", func(src string) string {
		return strings.Replace(src, `fmt.Fprintf(w, "Version: %s\n", ver)`, `w.WriteHeader(http.StatusInternalServerError)`, 1)
	})
	e = d.waitExecution("v1.2.0")
	if e.Status != pipeline.Failed || !strings.Contains(e.Error, "Deploy stage") {
		t.Errorf("v1.2.0: %s %q, want Failed in the Deploy stage", e.Status, e.Error)
	}
	if _, body := getVersion(t, d.prod); body != "Version: 1.1.0" {
		t.Errorf("after the rollback: %q, want 1.1.0", body)
	}
	show, err := d.client.Execution(context.Background(), e.ID)
	if err != nil || show.Stage("Deploy").Status != pipeline.Failed {
		t.Errorf("show: %+v %v", show, err)
	}
}

// TestPipelineDockerfileBuild builds through the Docker engine: the
// repository's buildspec compiles the static binary, its FROM scratch
// Dockerfile packs it, and the image is tagged with the version and the
// short commit.
func TestPipelineDockerfileBuild(t *testing.T) {
	origin, work := helloRepo(t)
	df, err := os.ReadFile("../../examples/hello/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(work, "Dockerfile"), string(df))
	writeFile(t, filepath.Join(work, ".buildspec.yml"), `version: 0.2
phases:
  build:
    commands:
      - CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=$CANARYFLOW_VERSION" -o hello .
`)
	gitIn(t, work, "add", ".")
	gitIn(t, work, "commit", "-q", "-m", "docker build")
	state := t.TempDir()
	cfg := pipelineConfig(t, origin, "dockerfile")
	d := startDaemon(t, state, cfg)
	defer d.stopWithTasks(state, cfg)
	pushRelease(t, work, "2.0.0", "2.0.0", nil)
	e := d.waitExecution("v2.0.0")
	if e.Status != pipeline.Succeeded {
		log, _ := d.client.ExecutionLogs(context.Background(), e.ID, false)
		b, _ := io.ReadAll(log)
		t.Fatalf("v2.0.0: %s %s\n%s", e.Status, e.Error, b)
	}
	if _, body := getVersion(t, d.prod); body != "Version: 2.0.0" {
		t.Errorf("production: %q", body)
	}
	reg, err := registry.New(registry.Options{Dir: filepath.Join(state, "registry")})
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := reg.Images("hello")
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, im := range imgs {
		tags = append(tags, im.Tags...)
	}
	short := e.Commit[:7]
	if !strings.Contains(strings.Join(tags, ","), "2.0.0") || !strings.Contains(strings.Join(tags, ","), short) {
		t.Errorf("image tags %v, want 2.0.0 and %s", tags, short)
	}
}
