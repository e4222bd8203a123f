package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/canaryflow/canaryflow/internal/build"
	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/leakcheck"
	"github.com/canaryflow/canaryflow/internal/registry"
	"github.com/canaryflow/canaryflow/internal/routerproc"
	"github.com/canaryflow/canaryflow/internal/testport"
)

// freePort returns a loopback port free now and reserved for this test
// binary (see testport): a crash test restarts its daemon on the same
// ports, and no other test or test binary may take them in between.
func freePort(t *testing.T) int {
	t.Helper()
	port, err := testport.Reserve()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// daemon is one running `canaryflow up` in the test process.
type daemon struct {
	t      *testing.T
	info   Info
	client *Client
	cancel context.CancelFunc
	done   chan error
	prod   string

	stopOnce sync.Once
}

// testConfig is a daemon's configuration for these tests. Most of them
// send no load while a canary step runs, so steps move on at their
// interval without traffic (alarms.promote_without_traffic).
// testDeploySettings are the deployment settings of testConfig's
// service, which helloRepo's releases carry in their own canaryflow.yaml.
const testDeploySettings = `  desired_count: 2
  deployment_config: {type: TimeBasedCanary, percent: 10, interval: 3}
  termination_wait: 1s
  alarms: {period: 250ms, evaluation_periods: 3, datapoints_to_alarm: 2, min_requests: 5, promote_without_traffic: true}
`

func testConfig(t *testing.T, prodPort, testPort int, extra string) *config.Config {
	t.Helper()
	if !strings.Contains(extra, "runtime:") {
		extra = "  runtime: process\n" + extra
	}
	doc := fmt.Sprintf(`service:
  name: hello
  container: {port: 3000}
  health_check: {path: /healthz, interval: 500ms, timeout: 400ms, healthy_threshold: 2}
  listeners: {production_port: %d, test_port: %d}
%s%s`, prodPort, testPort, testDeploySettings, extra)
	c, err := config.Parse("canaryflow.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func startDaemon(t *testing.T, stateDir string, cfg *config.Config) *daemon {
	t.Helper()
	killTasksAtEnd(t, stateDir)
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{t: t, cancel: cancel, done: make(chan error, 1),
		prod: fmt.Sprintf("127.0.0.1:%d", cfg.Service.Listeners.ProductionPort)}
	ready := make(chan Info, 1)
	logf, err := os.OpenFile(filepath.Join(stateDir, "daemon.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	logOnFailure(t, stateDir)
	go func() {
		d.done <- Run(ctx, Options{Config: cfg, StateDir: stateDir, APIAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0",
			Logger: slog.New(slog.NewTextHandler(logf, nil)), Ready: func(i Info) { ready <- i }})
	}()
	select {
	case d.info = <-ready:
	case err := <-d.done:
		t.Fatalf("daemon exited: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("daemon not ready within a minute")
	}
	d.client = &Client{Addr: d.info.API, Token: d.info.Token}
	t.Cleanup(d.stop) // a test that failed half-way leaves no daemon
	return d
}

// logOnFailure shows the end of the daemon's and the router's logs when t
// fails, once.
func logOnFailure(t *testing.T, stateDir string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, name := range []string{"daemon.log", "router/router.log"} {
			data, err := os.ReadFile(filepath.Join(stateDir, name))
			if err != nil {
				continue
			}
			lines := strings.Split(string(data), "\n")
			t.Logf("%s ends:\n%s", name, strings.Join(lines[max(0, len(lines)-60):], "\n"))
		}
	})
}

// killTasksAtEnd kills, when the test ends, every process still running
// from stateDir (the tasks of the process runtime run from images unpacked
// there): a test that failed half-way, or whose daemon was cut off on
// purpose, leaves no task behind. After a test that passed, a task left
// is a leak the test reports. The router process is meant to outlive its
// daemon: it is stopped first, as a user stops it.
func killTasksAtEnd(t *testing.T, stateDir string) {
	t.Cleanup(func() {
		if r, err := routerproc.Find(context.Background(), filepath.Join(stateDir, "router")); err == nil {
			if err := r.Stop(context.Background()); err != nil {
				t.Errorf("stop the router: %v", err)
			}
		}
		for _, p := range leakcheck.KillUnder(stateDir) {
			if t.Failed() {
				t.Logf("killed a task left running: %s", p)
			} else {
				t.Errorf("a task outlived its test: %s", p)
			}
		}
	})
}

// stop stops the daemon and waits for it; stopping it again does nothing.
func (d *daemon) stop() {
	d.stopOnce.Do(func() {
		d.cancel()
		select {
		case err := <-d.done:
			if err != nil {
				d.t.Errorf("daemon: %v", err)
			}
		case <-time.After(time.Minute):
			d.t.Error("daemon did not stop within a minute")
		}
	})
}

// push builds a Go image from dir and pushes it to the daemon's registry.
func (d *daemon) push(stateDir, dir, version string) string {
	d.t.Helper()
	token, err := registry.LoadOrCreateToken(filepath.Join(stateDir, "registry"))
	if err != nil {
		d.t.Fatal(err)
	}
	img, err := build.GoImage(context.Background(), build.GoImageOptions{Dir: dir, Version: version})
	if err != nil {
		d.t.Fatal(err)
	}
	ref, err := build.Push(context.Background(), img, build.Target{Registry: d.info.Registry, Repository: leakcheck.Repo("hello"), Tag: version, Token: token})
	if err != nil {
		d.t.Fatal(err)
	}
	return ref.String()
}

func (d *daemon) waitFor(id string, ok func(*DeploymentView) bool) *DeploymentView {
	d.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		v, err := d.client.Get(context.Background(), id)
		if err != nil {
			d.t.Fatal(err)
		}
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("deployment %s: wanted state not reached; last %+v", id, v.Deployment)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *daemon) waitDone(id string) *deploy.Deployment {
	return &d.waitFor(id, func(v *DeploymentView) bool { return v.Deployment.Done() }).Deployment
}

// load sends requests to production until stopped and counts the answers.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	versions   map[string]int
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startLoad(addr string, workers int) *load {
	l := &load{versions: map[string]int{}, stop: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := client.Get("http://" + addr + "/")
				if err != nil {
					l.failed.Add(1)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					l.failed.Add(1)
					continue
				}
				l.ok.Add(1)
				l.mu.Lock()
				l.versions[strings.TrimSpace(string(body))]++
				l.mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return l
}

func (l *load) end() { close(l.stop); l.wg.Wait() }

func TestDaemonCanaryAlarmAndRestart(t *testing.T) {
	stateDir := t.TempDir()
	cfg := testConfig(t, freePort(t), freePort(t), "")
	d := startDaemon(t, stateDir, cfg)
	ctx := context.Background()
	v1 := d.push(stateDir, "../../examples/hello", "1.0.0")
	v2 := d.push(stateDir, "../../examples/hello", "2.0.0")
	bad := d.push(stateDir, "testdata/bad", "3.0.0")

	first, err := d.client.Create(ctx, CreateRequest{Image: v1})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.waitDone(first.ID); got.Status != deploy.StatusSucceeded {
		t.Fatalf("first deployment: %+v", got)
	}

	// A full canary under load: no request fails, both versions answer.
	l := startLoad(d.prod, 4)
	second, err := d.client.Create(ctx, CreateRequest{Image: v2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.client.Create(ctx, CreateRequest{Image: v1}); err == nil || !strings.Contains(err.Error(), "already in progress") {
		t.Errorf("concurrent create: %v", err)
	}
	got := d.waitDone(second.ID)
	l.end()
	if got.Status != deploy.StatusSucceeded {
		t.Fatalf("canary: %+v", got)
	}
	if l.failed.Load() != 0 || l.versions["Version: 1.0.0"] == 0 || l.versions["Version: 2.0.0"] == 0 {
		t.Errorf("through the canary: %d ok, %d failed, versions %v", l.ok.Load(), l.failed.Load(), l.versions)
	}

	// A broken release: the alarm stops it at 10% and traffic returns to v2.
	l = startLoad(d.prod, 4)
	third, err := d.client.Create(ctx, CreateRequest{Image: bad})
	if err != nil {
		t.Fatal(err)
	}
	got = d.waitDone(third.ID)
	l.end()
	if got.Status != deploy.StatusStopped || got.Error == nil || got.Error.Code != deploy.CodeAlarmActive || !got.RolledBack {
		t.Fatalf("broken release: %+v", got)
	}
	t.Logf("broken release stopped: %s; load %d ok, %d failed", got.Error.Message, l.ok.Load(), l.failed.Load())
	if body := getBody(t, d.prod); body != "Version: 2.0.0" {
		t.Errorf("after rollback production answers %q", body)
	}

	// Restart mid-canary: weights come back from the store and it resumes.
	fourth, err := d.client.Create(ctx, CreateRequest{Image: v1})
	if err != nil {
		t.Fatal(err)
	}
	d.waitFor(fourth.ID, func(v *DeploymentView) bool { return v.Deployment.GreenPercent == 10 })
	d.stop()
	d = startDaemon(t, stateDir, cfg)
	st, err := d.client.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Traffic.GreenPercent != 10 {
		t.Errorf("after restart the router splits %v%% to green, want the saved 10%%", st.Traffic.GreenPercent)
	}
	if got := d.waitDone(fourth.ID); got.Status != deploy.StatusSucceeded {
		t.Fatalf("resumed deployment: %+v", got)
	}
	if body := getBody(t, d.prod); body != "Version: 1.0.0" {
		t.Errorf("after the resumed deployment production answers %q", body)
	}

	// Rollback goes back to the previous good revision (v2) at once.
	rb, err := d.client.Rollback(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.waitDone(rb.ID); got.Status != deploy.StatusSucceeded {
		t.Fatalf("rollback: %+v", got)
	}
	if body := getBody(t, d.prod); body != "Version: 2.0.0" {
		t.Errorf("after rollback production answers %q", body)
	}
	d.stopWithTasks(stateDir, cfg)
}

// stopWithTasks stops the daemon and every task it left, so the test
// leaves no process behind.
func (d *daemon) stopWithTasks(stateDir string, cfg *config.Config) {
	d.stop()
	// The cleanup daemon runs no registry, so it runs no pipeline either,
	// and it listens on ports of its own: it only stops tasks, and the
	// test's ports may be taken by now by a binary that does not reserve.
	clean, svc := *cfg, *cfg.Service
	clean.Pipeline = nil
	svc.Listeners.ProductionPort, svc.Listeners.TestPort = freePort(d.t), freePort(d.t)
	clean.Service = &svc
	cfg = &clean
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: cfg, StateDir: stateDir, APIAddr: "127.0.0.1:0", RegistryAddr: "-",
			StopTasksOnExit: true, Ready: func(Info) { cancel() }})
	}()
	if err := <-done; err != nil {
		d.t.Errorf("cleanup daemon: %v", err)
	}
}

// TestDaemonDocker is the smaller set with the docker runtime: a canary
// and an alarm that rolls back, with containers of images canaryflow built.
func TestDaemonDocker(t *testing.T) {
	stateDir := t.TempDir()
	cfg := testConfig(t, freePort(t), freePort(t), "  runtime: docker\n")
	// The engine is shared with other runs: the service's name is this
	// run's, so the daemon adopts, and its cleanup stops, no one else's.
	cfg.Service.Name = leakcheck.Repo("hello")
	d := startDaemon(t, stateDir, cfg)
	defer d.stopWithTasks(stateDir, cfg)
	ctx := context.Background()
	v1 := d.push(stateDir, "../../examples/hello", "1.0.0")
	v2 := d.push(stateDir, "../../examples/hello", "2.0.0")
	bad := d.push(stateDir, "testdata/bad", "3.0.0")
	removeImagesAtEnd(t, v1, v2, bad)
	for _, img := range []string{v1, v2} {
		dep, err := d.client.Create(ctx, CreateRequest{Image: img})
		if err != nil {
			t.Fatal(err)
		}
		if got := d.waitDone(dep.ID); got.Status != deploy.StatusSucceeded {
			t.Fatalf("deployment of %s: %+v", img, got)
		}
	}
	if body := getBody(t, d.prod); body != "Version: 2.0.0" {
		t.Errorf("production answers %q", body)
	}
	l := startLoad(d.prod, 4)
	dep, err := d.client.Create(ctx, CreateRequest{Image: bad})
	if err != nil {
		t.Fatal(err)
	}
	got := d.waitDone(dep.ID)
	l.end()
	if got.Status != deploy.StatusStopped || got.Error == nil || got.Error.Code != deploy.CodeAlarmActive || !got.RolledBack {
		t.Fatalf("broken release: %+v", got)
	}
	if body := getBody(t, d.prod); body != "Version: 2.0.0" {
		t.Errorf("after rollback production answers %q", body)
	}
}

// removeImagesAtEnd removes from the docker engine, when the test ends,
// the images the docker runtime pulled for refs (by digest, as it pulls).
func removeImagesAtEnd(t *testing.T, refs ...string) {
	t.Cleanup(func() {
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			t.Error(err)
			return
		}
		defer cli.Close()
		for _, ref := range refs {
			p, err := registry.ParseRef(ref)
			if err != nil {
				t.Error(err)
				continue
			}
			p.Tag = ""
			_, err = cli.ImageRemove(context.Background(), p.String(), image.RemoveOptions{Force: true, PruneChildren: true})
			if err != nil && !client.IsErrNotFound(err) {
				t.Errorf("remove image %s: %v", p, err)
			}
		}
	})
}

func getBody(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

func TestOptionsValidate(t *testing.T) {
	cfg := testConfig(t, 18080, 18081, "")
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{StateDir: "x"}, "no service section"},
		{Options{Config: cfg}, "state directory"},
		{Options{Config: cfg, StateDir: "x", APIAddr: "0.0.0.0:7070"}, "token is required"},
		{Options{Config: cfg, StateDir: "x", APIAddr: "nope"}, "API address"},
	} {
		if err := tc.o.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.o, err, tc.want)
		}
	}
	ok := Options{Config: cfg, StateDir: "x", APIAddr: "0.0.0.0:7070", Token: "t"}
	if err := ok.Validate(); err != nil {
		t.Errorf("with token: %v", err)
	}
}
