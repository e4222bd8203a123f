package deploy

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHookExecutorCommand(t *testing.T) {
	dir := t.TempDir()
	h := &HookExecutor{Dir: dir}
	call := HookCall{DeploymentID: "d-000001", Service: "hello", Event: EventAfterInstall, Revision: 2}
	// argv, never a shell: the ";" is an argument, not a command separator.
	call.Hook = Hook{Name: "touch", Command: []string{"touch", "ok;rm -rf x"}}
	if err := h.RunHook(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ok;rm -rf x")); err != nil {
		t.Errorf("argument was not passed as one argv entry: %v", err)
	}
	call.Hook = Hook{Name: "env", Command: []string{"env"}}
	var out strings.Builder
	h.Output = &out
	if err := h.RunHook(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "CANARYFLOW_LIFECYCLE_EVENT=AfterInstall") || !strings.Contains(out.String(), "CANARYFLOW_DEPLOYMENT_ID=d-000001") {
		t.Errorf("hook environment lacks the call: %s", out.String())
	}
	call.Hook = Hook{Name: "ls", Command: []string{"ls", "/nonexistent-canaryflow"}}
	err := h.RunHook(context.Background(), call)
	if err == nil || !strings.Contains(err.Error(), "nonexistent-canaryflow") {
		t.Errorf("failing command: %v (want its stderr in the error)", err)
	}
	call.Hook = Hook{Name: "slow", Command: []string{"sleep", "30"}, Timeout: 200 * time.Millisecond}
	if err := h.RunHook(context.Background(), call); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("slow command: %v", err)
	}
}

func TestHookExecutorURL(t *testing.T) {
	var got HookCall
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		default:
			http.Error(w, "smoke test failed: GET / gave 500", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	h := &HookExecutor{}
	call := HookCall{DeploymentID: "d-000002", Service: "hello", Event: EventAfterAllowTestTraffic}
	call.Hook = Hook{Name: "ok", URL: srv.URL + "/ok"}
	if err := h.RunHook(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	if got.DeploymentID != "d-000002" || got.Event != EventAfterAllowTestTraffic {
		t.Errorf("hook body = %+v", got)
	}
	call.Hook = Hook{Name: "bad", URL: srv.URL + "/bad"}
	if err := h.RunHook(context.Background(), call); err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "smoke test failed") {
		t.Errorf("failing URL: %v", err)
	}
	call.Hook = Hook{Name: "slow", URL: srv.URL + "/slow", Timeout: 200 * time.Millisecond}
	if err := h.RunHook(context.Background(), call); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("slow URL: %v", err)
	}
	call.Hook = Hook{Name: "none"}
	if err := h.RunHook(context.Background(), call); err == nil {
		t.Error("a hook with neither command nor url succeeded")
	}
}

// TestHookArgsNameTheListeners checks that a hook command names the test
// listener as $CANARYFLOW_TEST_URL (what the starter SmokeTest does), so a
// change of test_port reaches it; no shell runs, and other $ stay as written.
func TestHookArgsNameTheListeners(t *testing.T) {
	var out strings.Builder
	h := &HookExecutor{Dir: t.TempDir(), Output: &out, Env: []string{"CANARYFLOW_TEST_URL=http://127.0.0.1:9081/"}}
	call := HookCall{DeploymentID: "d-000007", Event: EventAfterAllowTestTraffic,
		Hook: Hook{Name: "SmokeTest", Command: []string{"echo", "$CANARYFLOW_TEST_URL", "${CANARYFLOW_DEPLOYMENT_ID}/x", "$HOME", "$(id)", "$CANARYFLOW_NOPE"}}}
	if err := h.RunHook(context.Background(), call); err != nil {
		t.Fatal(err)
	}
	want := "http://127.0.0.1:9081/ d-000007/x $HOME $(id) $CANARYFLOW_NOPE\n"
	if out.String() != want {
		t.Errorf("argv = %q, want %q", out.String(), want)
	}
}
