package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/canaryflow/canaryflow/internal/build"
	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/registry"
	"github.com/canaryflow/canaryflow/internal/runtime"
)

// helloImage is examples/hello built by canaryflow's Go builder, once per
// test binary; versions differ by their task definition's VERSION, and a
// broken release by its FAULT.
var helloImage = sync.OnceValues(func() (v1.Image, error) {
	return build.GoImage(context.Background(), build.GoImageOptions{Dir: "../../examples/hello", Version: "0.0.1"})
})

// hookServer is the HTTP endpoint of the hooks: /Pass answers 200, /Fail
// 500, /Block holds the call until the caller gives up. It records every
// call by deployment and event, so a test sees which hooks ran and how
// often.
type hookServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	calls   map[string]int // "d-000002/AfterInstall" → calls
	pending map[string]int // calls still held by /Block
	quit    chan struct{}
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{calls: map[string]int{}, pending: map[string]int{}, quit: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(func() { close(h.quit); h.srv.Close() })
	return h
}

func (h *hookServer) serve(w http.ResponseWriter, r *http.Request) {
	var call deploy.HookCall
	if err := json.NewDecoder(r.Body).Decode(&call); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	key := call.DeploymentID + "/" + call.Event
	h.mu.Lock()
	h.calls[key]++
	h.mu.Unlock()
	switch r.URL.Path {
	case "/Pass":
	case "/Fail":
		http.Error(w, "smoke test failed", http.StatusInternalServerError)
	case "/Block":
		h.mu.Lock()
		h.pending[key]++
		h.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-h.quit:
		}
		h.mu.Lock()
		h.pending[key]--
		h.mu.Unlock()
		http.Error(w, "gave up", http.StatusServiceUnavailable)
	default:
		http.NotFound(w, r)
	}
}

func (h *hookServer) count(id, event string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[id+"/"+event]
}

func (h *hookServer) held(id, event string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pending[id+"/"+event]
}

// e2e is one daemon over one state directory, with the parts a test
// drives: its clock, its hook endpoint, the ports it keeps over restarts.
type e2e struct {
	t        *testing.T
	dir      string
	cfg      *config.Config
	clock    *testClock
	hooks    *hookServer
	regAddr  string
	ref      string // hello in this daemon's registry
	d        *daemon
	inspect  *runtime.Process
	versions map[string]int // VERSION → revision, as deployed
}

// e2eConfig is the service section of the end-to-end tests; extra adds
// lines to it (deployment_config, ready, …). These tests move the clock
// past each step rather than send a step's worth of load, so steps move
// on without traffic (alarms.promote_without_traffic); internal/deploy's
// evidence tests hold a step for its requests.
const e2eConfig = `service:
  name: hello
  runtime: process
  desired_count: 2
  health_check: {interval: 100ms, timeout: 90ms, healthy_threshold: 2, unhealthy_threshold: 2}
  listeners: {production_port: %d, test_port: %d}
  alarms: {period: 250ms, evaluation_periods: 3, datapoints_to_alarm: 2, min_requests: 5, promote_without_traffic: true}
  hooks:
    Pass: {url: "%[3]s/Pass"}
    Fail: {url: "%[3]s/Fail", timeout: 10s}
    Block: {url: "%[3]s/Block"}
%s`

func newE2E(t *testing.T, extra string) *e2e {
	t.Helper()
	img, err := helloImage()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(extra, "termination_wait:") {
		extra += "  termination_wait: 5m\n"
	}
	e := &e2e{t: t, dir: t.TempDir(), clock: newTestClock(), hooks: newHookServer(t),
		regAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), versions: map[string]int{}}
	killTasksAtEnd(t, e.dir)
	e.cfg, err = config.Parse("canaryflow.yaml", fmt.Appendf(nil, e2eConfig, freePort(t), freePort(t), e.hooks.srv.URL, extra))
	if err != nil {
		t.Fatal(err)
	}
	e.start()
	t.Cleanup(func() {
		if e.d != nil {
			e.d.stopWithTasks(e.dir, e.cfg)
		}
	})
	token, err := registry.LoadOrCreateToken(filepath.Join(e.dir, "registry"))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := build.Push(context.Background(), img, build.Target{Registry: e.d.info.Registry, Repository: "hello", Tag: "v1", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	e.ref = ref.String()
	if e.inspect, err = runtime.NewProcess(runtime.ProcessOptions{Dir: filepath.Join(e.dir, "process")}); err != nil {
		t.Fatal(err)
	}
	return e
}

// start starts the daemon over the state directory, on the same ports.
func (e *e2e) start() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := e.cfg
	d := &daemon{t: e.t, cancel: cancel, done: make(chan error, 1),
		prod: fmt.Sprintf("127.0.0.1:%d", cfg.Service.Listeners.ProductionPort)}
	logf, err := os.OpenFile(filepath.Join(e.dir, "daemon.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { logf.Close() })
	ready := make(chan Info, 1)
	go func() {
		d.done <- Run(ctx, Options{Config: cfg, StateDir: e.dir, APIAddr: "127.0.0.1:0", RegistryAddr: e.regAddr,
			Clock: e.clock, Logger: slog.New(slog.NewTextHandler(logf, nil)), Ready: func(i Info) { ready <- i },
			SampleInterval: 100 * time.Millisecond})
	}()
	select {
	case d.info = <-ready:
	case err := <-d.done:
		e.t.Fatalf("daemon exited: %v", err)
	case <-time.After(time.Minute):
		e.t.Fatal("daemon not ready within a minute")
	}
	d.client = &Client{Addr: d.info.API, Token: d.info.Token}
	e.t.Cleanup(d.stop) // a test that failed half-way leaves no daemon
	e.d = d
}

// crash stops the daemon the way a crash does as far as deployments go:
// the controller is cut off wherever it is (a hook call in flight is
// abandoned), nothing is cleaned up, tasks keep running; then a new
// daemon starts over the same state directory.
func (e *e2e) crash() {
	e.t.Helper()
	e.d.stop()
	e.d = nil
	e.start()
}

// create deploys hello as version, with fault (FAULT, "" for none) and
// the appspec's hooks: event name → function (Pass, Fail or Block).
func (e *e2e) create(version, fault string, hooks map[string]string) *deploy.Deployment {
	e.t.Helper()
	d, err := e.d.client.Create(context.Background(), e.request(version, fault, hooks, false))
	if err != nil {
		e.t.Fatalf("create %s: %v", version, err)
	}
	e.versions[version] = d.Revision
	return d
}

func (e *e2e) request(version, fault string, hooks map[string]string, queue bool) CreateRequest {
	env := `{"name": "VERSION", "value": "` + version + `"}`
	if fault != "" {
		env += `, {"name": "FAULT", "value": "` + fault + `"}`
	}
	taskdef := `{"family": "hello", "containerDefinitions": [{"name": "hello", "image": "<IMAGE1_NAME>",
	  "portMappings": [{"containerPort": 3000}], "environment": [` + env + `]}]}`
	var b strings.Builder
	b.WriteString("version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n" +
		"        TaskDefinition: \"<TASK_DEFINITION>\"\n        LoadBalancerInfo:\n          ContainerName: hello\n          ContainerPort: 3000\n")
	if len(hooks) > 0 {
		b.WriteString("Hooks:\n")
		for _, ev := range []string{"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"} {
			if fn, ok := hooks[ev]; ok {
				fmt.Fprintf(&b, "  - %s: %q\n", ev, fn)
			}
		}
	}
	return CreateRequest{Image: e.ref, TaskDef: taskdef, AppSpec: b.String(), Queue: queue}
}

// allHooks maps every hook event to Pass, then the given overrides.
func allHooks(over map[string]string) map[string]string {
	m := map[string]string{}
	for _, ev := range []string{"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"} {
		m[ev] = "Pass"
	}
	for k, v := range over {
		m[k] = v
	}
	return m
}

func (e *e2e) get(id string) *DeploymentView {
	e.t.Helper()
	v, err := e.d.client.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *e2e) wait(id string, what string, ok func(*DeploymentView) bool) *DeploymentView {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		v := e.get(id)
		if ok(v) {
			return v
		}
		if v.Deployment.Done() || time.Now().After(deadline) {
			e.t.Fatalf("deployment %s: never %s; it is %s at %s (%v); tasks:\n%s", id, what, v.Deployment.Status, v.Deployment.Step, v.Deployment.Error, e.tasks())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *e2e) waitDone(id string) *DeploymentView {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		v := e.get(id)
		if v.Deployment.Done() {
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("deployment %s: not done within a minute; %s at %s; tasks:\n%s", id, v.Deployment.Status, v.Deployment.Step, e.tasks())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitHeld waits until the Block hook of event holds a call of id.
func (e *e2e) waitHeld(id, event string) {
	e.t.Helper()
	e.wait(id, event+"'s hook running", func(*DeploymentView) bool { return e.hooks.held(id, event) > 0 })
}

// succeed deploys version with passing hooks and takes it through the
// canary and the termination wait.
func (e *e2e) succeed(version string) *deploy.Deployment {
	e.t.Helper()
	d := e.create(version, "", nil)
	v := e.drive(d.ID, nil)
	if v.Deployment.Status != deploy.StatusSucceeded {
		e.t.Fatalf("deployment %s of %s ended %s: %v; tasks:\n%s", d.ID, version, v.Deployment.Status, v.Deployment.Error, e.tasks())
	}
	return &v.Deployment
}

// drive moves the clock through every wait of a deployment and approves
// its ready wait, until until holds (nil: until it is done).
func (e *e2e) drive(id string, until func(*DeploymentView) bool) *DeploymentView {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		v := e.get(id)
		switch {
		case until != nil && until(v):
			return v
		case v.Deployment.Done():
			if until != nil {
				e.t.Fatalf("deployment %s ended %s before the state wanted: %v", id, v.Deployment.Status, v.Deployment.Error)
			}
			return v
		case v.Deployment.Status == deploy.StatusReady && !v.Deployment.Approved:
			if _, err := e.d.client.Approve(context.Background(), id); err != nil {
				e.t.Fatal(err)
			}
		case !v.Deployment.WaitUntil.IsZero() && v.Deployment.Step != deploy.EventInstall:
			e.clock.Advance(v.Deployment.WaitUntil.Sub(e.clock.Now()) + time.Millisecond)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("deployment %s stuck: %s at %s; tasks:\n%s", id, v.Deployment.Status, v.Deployment.Step, e.tasks())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// production asks the production listener which version answers.
func (e *e2e) production() string {
	e.t.Helper()
	return getBody(e.t, e.d.prod)
}

// settled asks production until it answers want, for up to 5 seconds,
// and returns the last answer. Right after a restart the restored targets
// answer "no healthy target" until their first health check passes;
// another version answering is wrong at once.
func (e *e2e) settled(want string) string {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := e.production()
		if got == want || strings.HasPrefix(got, "Version: ") || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tasks describes every task the daemons started, with the end of its log,
// for a test that failed.
func (e *e2e) tasks() string {
	tasks, err := e.inspect.List(context.Background(), nil)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, t := range tasks {
		fmt.Fprintf(&b, "\t%s %s %s %s exit %d %s\n", t.ID, t.Labels[runtime.LabelTaskSet], t.Addr, t.State, t.ExitCode, t.Reason)
		if rc, err := e.inspect.Logs(context.Background(), t.ID, false); err == nil {
			log, _ := io.ReadAll(rc)
			rc.Close()
			lines := strings.Split(strings.TrimSpace(string(log)), "\n")
			fmt.Fprintf(&b, "\t\t%s\n", strings.Join(lines[max(0, len(lines)-3):], "\n\t\t"))
		}
	}
	return b.String()
}

// running lists the IDs of a task set's running processes.
func (e *e2e) running(taskSet string) []string {
	e.t.Helper()
	if taskSet == "" {
		return nil
	}
	tasks, err := e.inspect.List(context.Background(), map[string]string{runtime.LabelTaskSet: taskSet})
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, t := range tasks {
		if t.State == runtime.StateRunning {
			ids = append(ids, t.ID)
		}
	}
	return ids
}

// checkRolledBack asserts that a deployment that ended badly left
// production on blue (its tasks the same ones as before), green stopped,
// and no hook run twice.
func (e *e2e) checkRolledBack(v *DeploymentView, blueTasks []string, want string) {
	e.t.Helper()
	d := v.Deployment
	if !d.RolledBack {
		e.t.Errorf("%s: not rolled back: %+v", d.ID, d)
	}
	if got := e.settled(want); got != want {
		e.t.Errorf("%s: production answers %q after the rollback, want %q", d.ID, got, want)
	}
	if got := e.running(d.GreenTaskSet); len(got) != 0 {
		e.t.Errorf("%s: green task set %s still runs %v", d.ID, d.GreenTaskSet, got)
	}
	if got := e.running(d.BlueTaskSet); strings.Join(got, " ") != strings.Join(blueTasks, " ") {
		e.t.Errorf("%s: blue's tasks were %v, now %v: a rollback must not touch them", d.ID, blueTasks, got)
	}
	st, err := e.d.client.Status(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	w := st.Services[0].Weights
	if w.Blue != d.BlueTaskSet || w.Green != "" || w.GreenPercent != 0 || st.Traffic.GreenPercent != 0 {
		e.t.Errorf("%s: saved weights %+v, router %v%% green; want all on blue %s", d.ID, w, st.Traffic.GreenPercent, d.BlueTaskSet)
	}
	for _, ev := range []string{"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"} {
		if n := e.hooks.count(d.ID, ev); n > 1 {
			e.t.Errorf("%s: hook %s ran %d times", d.ID, ev, n)
		}
	}
}

// events maps a deployment's lifecycle event names to their statuses.
func events(v *DeploymentView) map[string]string {
	m := map[string]string{}
	for _, ev := range v.Events {
		m[ev.Name] = ev.Status
	}
	return m
}
