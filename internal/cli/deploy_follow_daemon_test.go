package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/testport"
)

const helloMain = `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux); err != nil {
		os.Exit(1)
	}
}
`

// quickCanaryYAML is a service section for the daemon tests: process
// runtime, one task, a 10% canary of one second; a test appends its alarms.
const quickCanaryYAML = `service:
  name: hello
  runtime: process
  desired_count: 1
  health_check: {interval: 500ms, timeout: 400ms}
  listeners: $PORTS
  deployment_config: {type: TimeBasedCanary, percent: 10, interval: 1}
  termination_wait: 1s
`

// followDaemon is a real daemon (`canaryflow up`, in process) run from a
// directory of the test's own, and the CLI talking to it.
type followDaemon struct {
	t   *testing.T
	ctx context.Context
}

// startFollowDaemon writes files (names relative to dir; $PORTS in
// canaryflow.yaml becomes the listeners) and calls setup, then runs `up`
// in dir until the test ends.
func startFollowDaemon(t *testing.T, dir string, files map[string]string, setup func()) *followDaemon {
	t.Helper()
	var ports [2]int
	for i := range ports {
		p, err := testport.Reserve()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	listeners := fmt.Sprintf("{production_port: %d, test_port: %d}", ports[0], ports[1])
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(text, "$PORTS", listeners)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	t.Setenv("CANARYFLOW_STATE_DIR", t.TempDir())
	t.Setenv("CANARYFLOW_REGISTRY_ADDR", "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	d := &followDaemon{t: t, ctx: ctx}
	if setup != nil {
		setup()
	}
	upCtx, stopUp := context.WithCancel(ctx)
	upDone := make(chan struct{})
	go func() {
		defer close(upDone)
		Run(upCtx, []string{"up", "--api", "127.0.0.1:0", "--stop-tasks"}, strings.NewReader(""), io.Discard, io.Discard)
	}()
	t.Cleanup(func() { stopUp(); <-upDone })
	return d
}

// run runs a CLI command that must succeed and returns its output.
func (d *followDaemon) run(args ...string) string {
	d.t.Helper()
	var out bytes.Buffer
	if code := Run(d.ctx, args, strings.NewReader(""), &out, &out); code != 0 {
		d.t.Fatalf("canaryflow %s = %d:\n%s", strings.Join(args, " "), code, out.String())
	}
	return out.String()
}

// watch starts `deploy status --watch` with no ID and reads its output
// until a line contains waiting; it returns a function that reads the rest
// and the exit code.
func (d *followDaemon) watch(waiting string) (rest func() (string, int)) {
	t := d.t
	t.Helper()
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		c := Run(d.ctx, []string{"deploy", "status", "--watch", "--connect-timeout", "60s"}, strings.NewReader(""), pw, pw)
		pw.Close()
		code <- c
	}()
	t.Cleanup(func() { pr.Close() })
	lines := bufio.NewScanner(pr)
	var seen strings.Builder
	for !strings.Contains(seen.String(), waiting) {
		if !lines.Scan() {
			t.Fatalf("the watch ended before it printed %q (exit %d):\n%s", waiting, <-code, seen.String())
		}
		seen.WriteString(lines.Text() + "\n")
	}
	return func() (string, int) {
		b, err := io.ReadAll(pr)
		if err != nil {
			t.Fatal(err)
		}
		return seen.String() + string(b), <-code
	}
}

// TestWatchNewestFollowsFirstDeployment runs the real daemon and starts
// `deploy status --watch` with no ID before any deployment exists: it must
// wait, saying so, and follow the deployment created after it to its end,
// exiting 0. The deployment is created only once the watch has printed
// that it waits, so the order is certain.
func TestWatchNewestFollowsFirstDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image and runs a daemon; skipped with -short")
	}
	d := startFollowDaemon(t, t.TempDir(), map[string]string{
		"canaryflow.yaml": quickCanaryYAML + "  alarms: {period: 250ms}\n",
		"hello/go.mod":    "module example.com/hello\n\ngo 1.22\n",
		"hello/main.go":   helloMain,
	}, nil)
	d.run("image", "build", "--tag", "v1.0.0", "--version", "1.0.0", "hello")
	rest := d.watch("waiting for a deployment…")
	if out := d.run("deploy", "create", "--image", "hello:v1.0.0"); !strings.Contains(out, "d-000001") {
		t.Fatalf("deploy create: %s", out)
	}
	if out, code := rest(); code != 0 || !strings.Contains(out, "d-000001 InProgress") || !strings.Contains(out, "status Succeeded") {
		t.Errorf("watch exit %d, want 0 having followed d-000001 to Succeeded:\n%s", code, out)
	}
}

// TestWatchNewestExecutionWithoutDeployment: the watch waits on a pipeline
// execution in its Build stage; when the build fails, no deployment comes,
// and the watch says so and exits 1 instead of waiting for ever. The
// buildspec holds the build until the watch has printed that it waits.
func TestWatchNewestExecutionWithoutDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a pipeline and a daemon; skipped with -short")
	}
	root := t.TempDir()
	repo, gate := filepath.Join(root, "repo"), filepath.Join(root, "gate")
	d := startFollowDaemon(t, repo, map[string]string{
		"canaryflow.yaml": `service:
  name: hello
  runtime: process
  listeners: $PORTS
pipeline:
  poll_interval: 30m
  build: {image: go}
`,
		"go.mod":  "module example.com/hello\n\ngo 1.22\n",
		"main.go": helloMain,
		"VERSION": "1.0.0\n",
		".buildspec.yml": fmt.Sprintf(`version: 0.2
phases:
  build:
    commands:
      - while [ ! -e %s ]; do sleep 0.05; done; echo held build fails; exit 1
`, gate),
	}, func() {
		gitRun(t, root, "init", "-q", "--bare", "origin.git")
		gitRun(t, repo, "init", "-q", "-b", "main")
		gitRun(t, repo, "add", ".")
		gitRun(t, repo, "commit", "-q", "-m", "hello")
		gitRun(t, repo, "tag", "-a", "-m", "Release 1.0.0", "v1.0.0")
		gitRun(t, repo, "remote", "add", "origin", filepath.Join(root, "origin.git"))
		gitRun(t, repo, "push", "-q", "origin", "main", "v1.0.0")
	})
	d.run("pipeline", "start", "--tag", "v1.0.0", "--connect-timeout", "60s")
	rest := d.watch("waiting for a deployment… pipeline execution e-000001 of v1.0.0: Build")
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := rest()
	if code != ExitError || !strings.Contains(out, "pipeline execution e-000001 of v1.0.0 ended Failed without a deployment") {
		t.Errorf("watch exit %d, want %d saying the execution made no deployment:\n%s", code, ExitError, out)
	}
	execution := map[string]any{"id": "string", "tag": "string", "version": "string", "commit": "string", "trigger": "string",
		"status": "string", "start": "time", "stages": []any{map[string]any{"name": "string", "status": "string"}}}
	checkSchema(t, "pipeline list", runDoc(t, d.ctx, "pipeline", "list"), []any{execution})
	checkSchema(t, "pipeline show", runDoc(t, d.ctx, "pipeline", "show", "e-000001"), execution)
}
