package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/pipeline"
	"github.com/canaryflow/canaryflow/internal/server"
)

// fakeDaemon is an httptest server answering the daemon API's deployment
// reads: the list holds d-000001 (Succeeded) and d-000002, and d-000001
// reads as in progress; anything else is 404 as the daemon says it. got is
// closed once the first read of d-000001 has been answered.
func fakeDaemon(t *testing.T) (addr string, got <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/executions" {
			json.NewEncoder(w).Encode([]pipeline.Execution{{ID: "e-000002", Tag: "v1.1.0"}, {ID: "e-000001", Tag: "v1.0.0"}})
			return
		}
		if r.URL.Path == "/v1/deployments" {
			json.NewEncoder(w).Encode([]deploy.Deployment{{ID: "d-000001", Status: deploy.StatusSucceeded}, {ID: "d-000002", Status: deploy.StatusInProgress}})
			return
		}
		if r.URL.Path != "/v1/deployments/d-000001" {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(server.ErrorBody{Error: "deployment " + strings.TrimPrefix(r.URL.Path, "/v1/deployments/") + ": not found"})
			return
		}
		v := server.DeploymentView{Deployment: deploy.Deployment{ID: "d-000001", Service: "hello",
			Status: deploy.StatusInProgress, Step: deploy.EventAllowTraffic, GreenPercent: 10, Revision: 2, PreviousRevision: 1}}
		json.NewEncoder(w).Encode(v)
		once.Do(func() { close(ch) })
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), ch
}

// TestInterruptedWatchExits130 stops `deploy status --watch` as Ctrl-C does
// (its context ends) once it has shown the deployment: it exits 130 and
// says the deployment keeps running, with the commands to follow or stop
// it, instead of "context canceled" and 1.
func TestInterruptedWatchExits130(t *testing.T) {
	addr, got := fakeDaemon(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-got; cancel() }()
	var out, errb bytes.Buffer
	code := Run(ctx, []string{"deploy", "status", "d-000001", "--watch", "--api", addr, "--token", "t"}, strings.NewReader(""), &out, &errb)
	if code != ExitInterrupted {
		t.Fatalf("exit %d, want %d: %s%s", code, ExitInterrupted, out.String(), errb.String())
	}
	for _, want := range []string{"d-000001 keeps running", "canaryflow deploy status d-000001 --watch", "canaryflow deploy stop d-000001"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if strings.Contains(errb.String(), "context canceled") {
		t.Errorf("stderr says context canceled:\n%s", errb.String())
	}
}

// TestNotFoundExits4 checks that a deployment, an image and a task that do
// not exist all exit 4, whether the daemon or the local state says so.
func TestNotFoundExits4(t *testing.T) {
	addr, _ := fakeDaemon(t)
	t.Setenv("CANARYFLOW_STATE_DIR", t.TempDir())
	t.Setenv("CANARYFLOW_REGISTRY_ADDR", "127.0.0.1:0")
	for _, args := range [][]string{
		{"deploy", "status", "d-000404", "--api", addr, "--token", "t"},
		{"deploy", "stop", "d-000404", "--api", addr, "--token", "t"},
		{"image", "rm", "nosuch:v1"},
		{"task", "rm", "nosuch"},
		{"task", "run", "nosuch:v1"},
	} {
		var out bytes.Buffer
		if code := Run(context.Background(), args, strings.NewReader(""), &out, &out); code != ExitNotFound {
			t.Errorf("%v = %d, want %d: %s", args, code, ExitNotFound, out.String())
		}
	}
}

// TestFlagGroupsAreUsageErrors: --continue with --abort is bad input (2),
// as every other flag mistake.
func TestFlagGroupsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"flow", "release", "finish", "--continue", "--abort"},
		{"flow", "feature", "finish", "--continue", "--abort"},
	} {
		var out bytes.Buffer
		if code := Run(context.Background(), args, strings.NewReader(""), &out, &out); code != ExitUsage {
			t.Errorf("%v = %d, want %d: %s", args, code, ExitUsage, out.String())
		}
	}
}
