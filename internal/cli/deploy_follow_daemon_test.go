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

// TestWatchNewestFollowsFirstDeployment runs the real daemon (`up`) and
// starts `deploy status --watch` with no ID before any deployment exists:
// it must wait, saying so, and follow the deployment created after it to
// its end, exiting 0. The deployment is created only once the watch has
// printed that it waits, so the order is certain.
func TestWatchNewestFollowsFirstDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image and runs a daemon; skipped with -short")
	}
	dir := t.TempDir()
	ports := [2]int{}
	for i := range ports {
		p, err := testport.Reserve()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	files := map[string]string{
		"canaryflow.yaml": fmt.Sprintf(`service:
  name: hello
  runtime: process
  desired_count: 1
  health_check: {interval: 500ms, timeout: 400ms}
  listeners: {production_port: %d, test_port: %d}
  deployment_config: {type: TimeBasedCanary, percent: 10, interval: 1}
  termination_wait: 1s
  alarms: {period: 250ms}
`, ports[0], ports[1]),
		"hello/go.mod": "module example.com/hello\n\ngo 1.22\n",
		"hello/main.go": `package main

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
`,
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	t.Setenv("CANARYFLOW_STATE_DIR", filepath.Join(dir, "state"))
	t.Setenv("CANARYFLOW_REGISTRY_ADDR", "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if code := Run(ctx, args, strings.NewReader(""), &out, &out); code != 0 {
			t.Fatalf("canaryflow %s = %d:\n%s", strings.Join(args, " "), code, out.String())
		}
		return out.String()
	}
	run("image", "build", "--tag", "v1.0.0", "--version", "1.0.0", "hello")

	upCtx, stopUp := context.WithCancel(ctx)
	upDone := make(chan struct{})
	var upOut bytes.Buffer
	go func() {
		defer close(upDone)
		Run(upCtx, []string{"up", "--api", "127.0.0.1:0", "--stop-tasks"}, strings.NewReader(""), &upOut, io.Discard)
	}()
	t.Cleanup(func() { stopUp(); <-upDone })

	pr, pw := io.Pipe()
	watchCode := make(chan int, 1)
	go func() {
		code := Run(ctx, []string{"deploy", "status", "--watch", "--connect-timeout", "60s"}, strings.NewReader(""), pw, pw)
		pw.Close()
		watchCode <- code
	}()
	t.Cleanup(func() { pr.Close() })
	lines := bufio.NewScanner(pr)
	var seen strings.Builder
	for !strings.Contains(seen.String(), "waiting for a deployment…") {
		if !lines.Scan() {
			t.Fatalf("the watch ended before it waited (exit %d):\n%s", <-watchCode, seen.String())
		}
		seen.WriteString(lines.Text() + "\n")
	}
	if out := run("deploy", "create", "--image", "hello:v1.0.0"); !strings.Contains(out, "d-000001") {
		t.Fatalf("deploy create: %s", out)
	}
	rest, err := io.ReadAll(pr)
	if err != nil {
		t.Fatal(err)
	}
	seen.Write(rest)
	if code := <-watchCode; code != 0 || !strings.Contains(seen.String(), "d-000001 InProgress") ||
		!strings.Contains(seen.String(), "status Succeeded") {
		t.Errorf("watch exit %d, want 0 having followed d-000001 to Succeeded:\n%s", code, seen.String())
	}
}
