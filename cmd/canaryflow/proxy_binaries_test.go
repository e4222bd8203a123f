package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/proxycmd"
)

// TestProxyBinaries builds canaryflow and canaryflow-proxy side by side, as
// `go install ./cmd/...` installs them, and runs them as real processes.
func TestProxyBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both binaries")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(filepath.Separator),
		"github.com/canaryflow/canaryflow/cmd/canaryflow", "github.com/canaryflow/canaryflow/cmd/canaryflow-proxy")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	canaryflow, proxy := filepath.Join(bin, "canaryflow"), filepath.Join(bin, proxycmd.Name)

	t.Run("handoff", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("reads /proc/PID/exe")
		}
		// canaryflow without canaryflow-proxy beside it.
		alone := filepath.Join(t.TempDir(), "canaryflow")
		if err := os.Link(canaryflow, alone); err != nil {
			t.Fatal(err)
		}
		backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "from the backend")
		}))
		t.Cleanup(backend.Close)
		for _, tc := range []struct {
			name, exe, env, wantExe string
			wantNotice              bool
		}{
			{"beside", canaryflow, "", proxy, false},
			{"in-process asked", canaryflow, proxycmd.InProcessEnv + "=1", canaryflow, false},
			{"alone", alone, "", alone, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				checkProxyProcess(t, tc.exe, tc.env, backend.URL, tc.wantExe, tc.wantNotice)
			})
		}
	})

	t.Run("bad flags", func(t *testing.T) {
		for _, args := range [][]string{
			{},
			{"--blue", "127.0.0.1:9001"},
			{"--blue", "http://127.0.0.1:9001", "--green-weight", "2.55"},
			{"--blue", "http://127.0.0.1:9001", "--listen", "nonsense"},
			{"--blue", "http://127.0.0.1:9001", "--admin", "0.0.0.0:18090"},
			{"--blue", "http://127.0.0.1:9001", "--health-path", "/healthz", "--health-interval", "1s", "--health-timeout", "2s"},
			{"--blue", "http://127.0.0.1:9001", "--response-timeout", "-1s"},
			{"--listen", "0.0.0.0:18080", "--blue", "http://localhost:18080"},
			{"--blue", "http://127.0.0.1:9001", "--pin-header", "X-Pin"},
			{"--healthy-threshold", "many"},
			{"--no-such-flag"},
			{"set-weight"},
			{"set-weight", "150"},
			{"set-weight", "--admin", "nowhere", "25"},
		} {
			code1, msg1 := runBinary(t, canaryflow, append([]string{"proxy"}, args...), "canaryflow: ")
			code2, msg2 := runBinary(t, proxy, args, proxycmd.Name+": ")
			if code1 != 2 || code2 != 2 || msg1 != msg2 {
				t.Errorf("%q: canaryflow proxy exits %d: %q; canaryflow-proxy exits %d: %q; want both 2, same message",
					args, code1, msg1, code2, msg2)
			}
		}
	})
}

// checkProxyProcess starts `EXE proxy` in front of backend with env added,
// waits until a request through it reaches the backend, checks which
// executable the process runs and whether it printed the in-process
// notice, then stops it with SIGTERM and expects a clean exit.
func checkProxyProcess(t *testing.T, exe, env, backend, wantExe string, wantNotice bool) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(pickPort(t))
	cmd := exec.Command(exe, "proxy", "--listen", addr, "--blue", backend)
	cmd.Env = withoutEnv(os.Environ(), proxycmd.InProcessEnv)
	if env != "" {
		cmd.Env = append(cmd.Env, env)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})

	body, err := getUntil(done, "http://"+addr+"/", time.Now().Add(20*time.Second))
	if err != nil || body != "from the backend" {
		t.Fatalf("GET through the proxy = %q, %v\nstderr:\n%s", body, err, stderr.String())
	}
	got, err := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := filepath.EvalSymlinks(wantExe); got != want {
		t.Errorf("process runs %s, want %s", got, want)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err // for the cleanup
		if err != nil {
			t.Errorf("after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10s after SIGTERM")
	}
	if !strings.Contains(stdout.String(), "proxy on "+addr) {
		t.Errorf("stdout %q does not say where the proxy listens", stdout.String())
	}
	if notice := strings.Contains(stderr.String(), "serving the proxy in-process"); notice != wantNotice {
		t.Errorf("in-process notice printed: %t, want %t; stderr:\n%s", notice, wantNotice, stderr.String())
	}
}

// getUntil GETs url until it answers 200 or the deadline passes, and gives
// up at once if the process reports on exited that it has ended.
func getUntil(exited chan error, url string, deadline time.Time) (string, error) {
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			data, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(data), rerr
			}
			err = errors.New(resp.Status)
		}
		select {
		case werr := <-exited:
			exited <- werr
			return "", errors.Join(errors.New("the proxy exited"), werr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return "", err
		}
	}
}

// runBinary runs exe with args and returns its exit code and stderr without
// the program's name prefix (which it must have).
func runBinary(t *testing.T, exe string, args []string, prefix string) (int, string) {
	t.Helper()
	cmd := exec.Command(exe, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if stdout.Len() > 0 {
		t.Errorf("%s %q printed on stdout: %q", exe, args, stdout.String())
	}
	msg, ok := strings.CutPrefix(stderr.String(), prefix)
	if !ok {
		t.Errorf("%s %q: stderr %q does not start with %q", exe, args, stderr.String(), prefix)
	}
	return cmd.ProcessState.ExitCode(), msg
}

// withoutEnv returns env without the variable name.
func withoutEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
