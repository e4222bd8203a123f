package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/examples"
	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/leakcheck"
	"github.com/canaryflow/canaryflow/internal/pipeline"
	"github.com/canaryflow/canaryflow/internal/routerproc"
	"github.com/canaryflow/canaryflow/internal/server"
	"github.com/canaryflow/canaryflow/internal/testport"
)

// TestDaemonRestartsDropNoRequest runs the built canaryflow and
// canaryflow-proxy binaries as a user does, under steady load on fresh
// connections, and restarts the daemon at the worst moments of four
// tag-triggered releases: SIGKILL at the 10% canary step and during the
// termination wait (the second start from a rebuilt binary, an upgrade),
// SIGKILL during a rollback, and SIGTERM at 10%. The router is a process
// of its own that the next daemon adopts, so no request fails; each
// deployment resumes and finishes, each pipeline execution ends with its
// deployment's outcome, and production serves the right version.
func TestDaemonRestartsDropNoRequest(t *testing.T) {
	bins := buildBinaries(t, "first", "upgraded")
	h := newReleaseHarness(t)
	h.start(bins["first"])

	h.tag("v1.0.0", nil)
	h.waitExecution("v1.0.0", pipeline.Succeeded)

	load := startLoad(t, "http://"+h.prod+"/", 50)

	// v1.1.0: SIGKILL at 10%, then SIGKILL in the termination wait, and
	// the daemon comes back upgraded.
	h.tag("v1.1.0", nil)
	id := h.waitDeployment("v1.1.0", func(d *deploy.Deployment) bool { return d.GreenPercent == 10 })
	h.restart(syscall.SIGKILL, bins["first"])
	h.waitDeploymentState(id, func(d *deploy.Deployment) bool { return d.Status == deploy.StatusBaking })
	h.restart(syscall.SIGKILL, bins["upgraded"])
	h.waitExecution("v1.1.0", pipeline.Succeeded)
	h.wantDeployment(id, deploy.StatusSucceeded)
	h.wantProduction("1.1.0")

	// v1.2.0 fails half its requests: SIGKILL while it rolls back.
	h.tag("v1.2.0", [][2]string{{"\t\tfmt.Fprintf(w, \"Version: %s\\n\", ver)",
		"\t\tif time.Now().UnixNano()%2 == 0 {\n\t\t\thttp.Error(w, \"broken\", http.StatusInternalServerError)\n\t\t\treturn\n\t\t}\n\t\tfmt.Fprintf(w, \"Version: %s\\n\", ver)"}})
	id = h.waitDeployment("v1.2.0", func(d *deploy.Deployment) bool { return d.Step == "RollingBack" || d.Done() })
	if d := h.deployment(id); d.Done() {
		t.Logf("v1.2.0 rolled back before the kill could land in it (%s): the restart comes after", d.Status)
	}
	h.restart(syscall.SIGKILL, bins["upgraded"])
	h.waitExecution("v1.2.0", pipeline.Failed)
	if d := h.deployment(id); !d.RolledBack || d.Status != deploy.StatusStopped {
		t.Errorf("v1.2.0: %s, rolled back %v; want Stopped by its alarm and rolled back", d.Status, d.RolledBack)
	}
	h.wantProduction("1.1.0")

	// v1.3.0: a graceful stop at 10%.
	h.tag("v1.3.0", [][2]string{{"time.Now().UnixNano()%2 == 0", "false"}})
	id = h.waitDeployment("v1.3.0", func(d *deploy.Deployment) bool { return d.GreenPercent == 10 })
	h.restart(syscall.SIGTERM, bins["upgraded"])
	h.waitExecution("v1.3.0", pipeline.Succeeded)
	h.wantDeployment(id, deploy.StatusSucceeded)
	h.wantProduction("1.3.0")

	r := load.stop()
	t.Logf("load: %d requests, %d failed; answers by version: %v; 5xx from the broken v1.2.0: %d", r.total, r.failed, r.versions, r.appErrors)
	if r.failed != 0 {
		t.Errorf("%d of %d requests failed (first: %s); want none", r.failed, r.total, r.firstFailure)
	}
	if r.versions["1.1.0"] == 0 || r.versions["1.3.0"] == 0 {
		t.Errorf("answers by version %v: want 1.1.0 and 1.3.0 among them", r.versions)
	}
}

// buildBinaries builds canaryflow and canaryflow-proxy into one directory
// per name; each build is a distinct file, as an upgrade is.
func buildBinaries(t *testing.T, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for i, name := range names {
		dir := filepath.Join(t.TempDir(), name)
		// Each build stamps its own version: other bytes, as an upgrade.
		args := []string{"build", "-o", dir + "/", "-ldflags=-X github.com/canaryflow/canaryflow/internal/cli.Version=0.0." + fmt.Sprint(i) + "-" + name}
		cmd := exec.Command("go", append(args, "github.com/canaryflow/canaryflow/cmd/canaryflow",
			"github.com/canaryflow/canaryflow/cmd/canaryflow-proxy")...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
		out[name] = filepath.Join(dir, "canaryflow")
	}
	return out
}

// releaseHarness is a service repository with a bare origin, and the
// daemon a user runs for it.
type releaseHarness struct {
	t               *testing.T
	ws, repo, state string
	prod, test, api string
	env             []string
	daemon          *exec.Cmd
	exited          chan error
	client          *server.Client
	version         map[string]string // tag → version
}

const restartConfig = `service:
  name: hello
  container: {name: hello, port: 3000}
  desired_count: 2
  runtime: process
  health_check: {path: /healthz, interval: 500ms, timeout: 400ms, healthy_threshold: 2, unhealthy_threshold: 2}
  listeners: {production_port: %s, test_port: %s}
  deployment_config: {type: TimeBasedCanary, percent: 10, interval: 8}
  termination_wait: 6s
  alarms: {period: 250ms, evaluation_periods: 3, datapoints_to_alarm: 2, min_requests: 5, error_rate_percent: 5}
pipeline:
  source: ../origin.git
  poll_interval: 200ms
  build: {image: go}
`

func newReleaseHarness(t *testing.T) *releaseHarness {
	t.Helper()
	ws := t.TempDir()
	h := &releaseHarness{t: t, ws: ws, repo: filepath.Join(ws, "hello"), state: filepath.Join(ws, "state"), version: map[string]string{}}
	var ports [3]int
	for i := range ports {
		p, err := testport.Reserve()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	h.prod, h.test, h.api = fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1]), fmt.Sprintf("127.0.0.1:%d", ports[2])
	h.env = append(os.Environ(), "CANARYFLOW_STATE_DIR="+h.state, "CANARYFLOW_REGISTRY_ADDR=127.0.0.1:0",
		leakcheck.EnvRun+"="+leakcheck.RunID(),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+filepath.Join(ws, ".gitconfig"))
	t.Cleanup(h.cleanup)

	h.git(ws, "init", "-q", "--bare", "origin.git")
	h.git(ws, "init", "-q", "-b", "main", "hello")
	files := map[string]string{
		"go.mod":          "module example.com/hello\n\ngo 1.26\n",
		"canaryflow.yaml": fmt.Sprintf(restartConfig, portOf(h.prod), portOf(h.test)),
		".gitignore":      "/hello\n",
	}
	for _, name := range []string{"main.go", "VERSION"} {
		b, err := fs.ReadFile(examples.Hello, "hello/"+name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(b)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(h.repo, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.git(h.repo, "add", ".")
	h.git(h.repo, "commit", "-q", "-m", "the hello service")
	h.git(h.repo, "remote", "add", "origin", "../origin.git")
	h.git(h.repo, "push", "-q", "origin", "main")
	return h
}

func portOf(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

func (h *releaseHarness) git(dir string, args ...string) {
	h.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = dir, h.env
	if b, err := cmd.CombinedOutput(); err != nil {
		h.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, b)
	}
}

// start runs `canaryflow up` from bin and waits for its API.
func (h *releaseHarness) start(bin string) {
	h.t.Helper()
	logf, err := os.OpenFile(filepath.Join(h.ws, "up.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		h.t.Fatal(err)
	}
	defer logf.Close()
	os.Remove(filepath.Join(h.state, server.InfoFile))
	cmd := exec.Command(bin, "up", "--api", h.api)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = h.repo, h.env, logf, logf
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.daemon, h.exited = cmd, make(chan error, 1)
	go func(exited chan error) { exited <- cmd.Wait() }(h.exited)
	deadline := time.Now().Add(time.Minute)
	for {
		if info, err := server.ReadInfo(h.state); err == nil && info.PID == cmd.Process.Pid {
			h.client = &server.Client{Addr: info.API, Token: info.Token}
			if _, err := h.client.Status(context.Background()); err == nil {
				return
			}
		}
		select {
		case err := <-h.exited:
			h.t.Fatalf("canaryflow up exited: %v\n%s", err, h.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("canaryflow up not ready within a minute\n%s", h.logTail())
		}
	}
}

// restart stops the daemon with sig, waits for it to exit, and starts bin;
// the new daemon adopts the router that served all along.
func (h *releaseHarness) restart(sig syscall.Signal, bin string) {
	h.t.Helper()
	before := h.routerPID()
	if err := h.daemon.Process.Signal(sig); err != nil {
		h.t.Fatal(err)
	}
	select {
	case <-h.exited:
	case <-time.After(time.Minute):
		h.t.Fatal("canaryflow up did not exit within a minute of", sig)
	}
	h.t.Logf("daemon stopped by %s; starting %s", sig, bin)
	h.start(bin)
	if after := h.routerPID(); after != before {
		h.t.Errorf("the router changed across the restart: PID %d, then %d; want it adopted", before, after)
	}
}

// routerPID is the PID of the router serving the listeners, as status says.
func (h *releaseHarness) routerPID() int {
	h.t.Helper()
	st, err := h.client.Status(context.Background())
	if err != nil || st.Router == nil {
		h.t.Fatalf("status: %v (router %v)", err, st)
	}
	return st.Router.PID
}

func (h *releaseHarness) logTail() string {
	b, _ := os.ReadFile(filepath.Join(h.ws, "up.log"))
	r, _ := os.ReadFile(filepath.Join(h.state, "router", "router.log"))
	tail := func(b []byte) string {
		lines := strings.Split(string(b), "\n")
		return strings.Join(lines[max(0, len(lines)-40):], "\n")
	}
	return "up.log ends:\n" + tail(b) + "\nrouter.log ends:\n" + tail(r)
}

// tag commits the edits to main.go (old → new) with the version, tags it
// and pushes both, as `flow release finish --push` does.
func (h *releaseHarness) tag(tag string, edits [][2]string) {
	h.t.Helper()
	version := strings.TrimPrefix(tag, "v")
	h.version[tag] = version
	main := filepath.Join(h.repo, "main.go")
	b, err := os.ReadFile(main)
	if err != nil {
		h.t.Fatal(err)
	}
	src := string(b)
	for _, e := range edits {
		if !strings.Contains(src, e[0]) {
			h.t.Fatalf("main.go has no %q", e[0])
		}
		src = strings.Replace(src, e[0], e[1], 1)
	}
	if err := os.WriteFile(main, []byte(src), 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.repo, "VERSION"), []byte(version+"\n"), 0o644); err != nil {
		h.t.Fatal(err)
	}
	h.git(h.repo, "commit", "-q", "--allow-empty", "-am", "release "+version)
	h.git(h.repo, "tag", "-a", "-m", "release "+version, tag)
	h.git(h.repo, "push", "-q", "origin", "main", tag)
}

// execution returns the execution of tag, or nil.
func (h *releaseHarness) execution(tag string) *pipeline.Execution {
	es, err := h.client.Executions(context.Background())
	if err != nil {
		return nil // the daemon may be between two lives
	}
	for _, e := range es {
		if e.Tag == tag {
			return &e
		}
	}
	return nil
}

func (h *releaseHarness) waitExecution(tag string, want pipeline.Status) {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if e := h.execution(tag); e != nil && e.Status.Done() {
			if e.Status != want {
				h.t.Fatalf("execution %s of %s: %s %q; want %s\n%s", e.ID, tag, e.Status, e.Error, want, h.logTail())
			}
			// CodePipeline's reading: a deployment that did not succeed
			// (failed, or stopped by its alarm) fails the execution.
			d := h.deployment(e.DeploymentID)
			if (d.Status == deploy.StatusSucceeded) != (e.Status == pipeline.Succeeded) || !d.Done() {
				h.t.Errorf("execution %s of %s is %s but its deployment %s is %s", e.ID, tag, e.Status, d.ID, d.Status)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("execution of %s did not end within 3 minutes\n%s", tag, h.logTail())
}

func (h *releaseHarness) deployment(id string) *deploy.Deployment {
	h.t.Helper()
	v, err := h.client.Get(context.Background(), id)
	if err != nil {
		h.t.Fatalf("deployment %s: %v", id, err)
	}
	return &v.Deployment
}

// waitDeployment waits for the deployment of tag's execution to satisfy ok,
// polling fast enough to catch a phase of a second.
func (h *releaseHarness) waitDeployment(tag string, ok func(*deploy.Deployment) bool) string {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if e := h.execution(tag); e != nil && e.DeploymentID != "" {
			if v, err := h.client.Get(context.Background(), e.DeploymentID); err == nil && ok(&v.Deployment) {
				return e.DeploymentID
			}
		} else if e != nil && e.Status.Done() {
			h.t.Fatalf("execution of %s ended without a deployment: %s %q", tag, e.Status, e.Error)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("deployment of %s did not reach the state wanted within 3 minutes\n%s", tag, h.logTail())
	return ""
}

func (h *releaseHarness) waitDeploymentState(id string, ok func(*deploy.Deployment) bool) {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if v, err := h.client.Get(context.Background(), id); err == nil && ok(&v.Deployment) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("deployment %s did not reach the state wanted within 3 minutes\n%s", id, h.logTail())
}

func (h *releaseHarness) wantDeployment(id, want string) {
	h.t.Helper()
	if d := h.deployment(id); d.Status != want {
		h.t.Errorf("deployment %s: %s; want %s", id, d.Status, want)
	}
}

func (h *releaseHarness) wantProduction(version string) {
	h.t.Helper()
	for range 20 {
		resp, err := http.Get("http://" + h.prod + "/")
		if err != nil {
			h.t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := strings.TrimSpace(string(b)); got != "Version: "+version {
			h.t.Fatalf("production answers %q; want Version: %s", got, version)
		}
	}
}

// cleanup stops the daemon, then the router and the tasks, as `canaryflow
// up --stop-tasks` would, whatever state the test left them in.
func (h *releaseHarness) cleanup() {
	if h.daemon != nil {
		_ = h.daemon.Process.Signal(syscall.SIGTERM)
		select {
		case <-h.exited:
		case <-time.After(30 * time.Second):
			_ = h.daemon.Process.Kill()
		}
	}
	if r, err := routerproc.Find(context.Background(), filepath.Join(h.state, "router")); err == nil {
		_ = r.Stop(context.Background())
	}
	// The tasks outlive the daemon on purpose, as ECS keeps them.
	leakcheck.KillUnder(h.ws)
}

// loadResult counts what the load saw.
type loadResult struct {
	total, failed, appErrors int
	versions                 map[string]int
	firstFailure             string
}

type loadGen struct {
	stopc chan struct{}
	done  chan loadResult
}

// startLoad sends rps requests a second to url, each on a fresh
// connection. A failure is a request the router did not answer, or
// answered 502, 503 or 504 itself; a 500 is the application's own answer.
func startLoad(t *testing.T, url string, rps int) *loadGen {
	g := &loadGen{stopc: make(chan struct{}), done: make(chan loadResult, 1)}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		var mu sync.Mutex
		var wg sync.WaitGroup
		r := loadResult{versions: map[string]int{}}
		tick := time.NewTicker(time.Second / time.Duration(rps))
		defer tick.Stop()
	loop:
		for {
			select {
			case <-g.stopc:
				break loop
			case <-tick.C:
			}
			wg.Go(func() {
				resp, err := client.Get(url)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				defer mu.Unlock()
				r.total++
				switch {
				case err != nil:
					err = errors.Unwrap(err)
					fallthrough
				case resp.StatusCode == 502 || resp.StatusCode == 503 || resp.StatusCode == 504:
					r.failed++
					if r.firstFailure == "" {
						if err != nil {
							r.firstFailure = fmt.Sprintf("%s: %v", time.Now().Format(time.TimeOnly), err)
						} else {
							r.firstFailure = fmt.Sprintf("%s: %s %s", time.Now().Format(time.TimeOnly), resp.Status, body)
						}
					}
				case resp.StatusCode == 500:
					r.appErrors++
				default:
					r.versions[strings.TrimPrefix(strings.TrimSpace(string(body)), "Version: ")]++
				}
			})
		}
		wg.Wait()
		g.done <- r
	}()
	t.Cleanup(func() {
		select {
		case <-g.stopc:
		default:
			g.stop()
		}
	})
	return g
}

func (g *loadGen) stop() loadResult {
	close(g.stopc)
	return <-g.done
}
