package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// HookCall is one execution of a hook: which deployment and event, and
// where green can be reached through the test listener.
type HookCall struct {
	DeploymentID string `json:"deploymentId"`
	Service      string `json:"service"`
	Event        string `json:"lifecycleEventName"`
	ExecutionID  string `json:"lifecycleEventHookExecutionId"`
	Revision     int    `json:"revision"`
	Hook         Hook   `json:"-"`
}

// HookRunner runs one hook to completion; a nil error is success.
type HookRunner interface {
	RunHook(ctx context.Context, call HookCall) error
}

// HookExecutor is the HookRunner canaryflow uses: it runs a command
// (argv, never through a shell) or POSTs the call as JSON to a URL, within
// the hook's timeout. The zero value is ready to use.
type HookExecutor struct {
	// Dir is the working directory of hook commands; zero means the
	// daemon's own.
	Dir string
	// Env is added to every hook command's environment.
	Env []string
	// Client sends URL hooks; zero means a client with no extra settings.
	Client *http.Client
	// Output receives hook commands' stdout and stderr; zero discards it.
	Output io.Writer
}

// RunHook runs the call's hook and reports its failure with the reason.
func (h *HookExecutor) RunHook(ctx context.Context, call HookCall) error {
	timeout := call.Hook.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var err error
	switch {
	case len(call.Hook.Command) > 0:
		err = h.runCommand(ctx, call)
	case call.Hook.URL != "":
		err = h.callURL(ctx, call)
	default:
		return fmt.Errorf("hook %s: no command or url", call.Hook.Name)
	}
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("hook %s: timed out after %s: %w", call.Hook.Name, timeout, err)
	}
	return err
}

func (h *HookExecutor) runCommand(ctx context.Context, call HookCall) error {
	own := append(append([]string{}, h.Env...),
		"CANARYFLOW_DEPLOYMENT_ID="+call.DeploymentID,
		"CANARYFLOW_SERVICE="+call.Service,
		"CANARYFLOW_LIFECYCLE_EVENT="+call.Event,
		"CANARYFLOW_HOOK_EXECUTION_ID="+call.ExecutionID,
		fmt.Sprintf("CANARYFLOW_REVISION=%d", call.Revision),
	)
	argv := expandHookArgs(call.Hook.Command, own)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = h.Dir
	cmd.WaitDelay = 2 * time.Second
	cmd.Env = append(os.Environ(), own...)
	var tail tailBuffer
	var out io.Writer = &tail
	if h.Output != nil {
		out = io.MultiWriter(&tail, h.Output)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(tail.String())
		if msg != "" {
			return fmt.Errorf("hook %s: run %s: %w: %s", call.Hook.Name, argv[0], err, msg)
		}
		return fmt.Errorf("hook %s: run %s: %w", call.Hook.Name, argv[0], err)
	}
	return nil
}

// hookVarRef matches $CANARYFLOW_NAME and ${CANARYFLOW_NAME}.
var hookVarRef = regexp.MustCompile(`\$\{CANARYFLOW_[A-Z0-9_]+\}|\$CANARYFLOW_[A-Z0-9_]+`)

// expandHookArgs replaces $CANARYFLOW_NAME and ${CANARYFLOW_NAME} in a hook's
// argv with canaryflow's own variables (env, NAME=value), so a hook can
// name $CANARYFLOW_TEST_URL without a shell and follow a change of
// test_port. No shell sees the argv, and any other $ is left as written.
func expandHookArgs(argv, env []string) []string {
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "CANARYFLOW_") {
			vars[k] = v
		}
	}
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = hookVarRef.ReplaceAllStringFunc(a, func(ref string) string {
			name := strings.Trim(ref, "${}")
			if v, ok := vars[name]; ok {
				return v
			}
			return ref
		})
	}
	return out
}

func (h *HookExecutor) callURL(ctx context.Context, call HookCall) error {
	body, err := json.Marshal(call)
	if err != nil {
		return fmt.Errorf("hook %s: %w", call.Hook.Name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, call.Hook.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("hook %s: %w", call.Hook.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := h.Client
	if client == nil {
		client = &http.Client{}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("hook %s: post %s: %w", call.Hook.Name, call.Hook.URL, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("hook %s: post %s: %s: %s", call.Hook.Name, call.Hook.URL, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// tailBuffer keeps the last 1 KiB written to it, for error messages.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 1024 {
		t.b = t.b[len(t.b)-1024:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
