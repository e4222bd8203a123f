package routerproc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/leakcheck"
	"github.com/canaryflow/canaryflow/internal/router"
	"github.com/canaryflow/canaryflow/internal/testport"
)

// tWriter sends log lines to the test's log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestMain(m *testing.M) {
	ServeIfChild()
	leakcheck.Main(m)
}

func addr(t *testing.T) string {
	t.Helper()
	p, err := testport.Reserve()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", p)
}

// ensure starts (or adopts) a router for dir and stops it when t ends.
func ensure(t *testing.T, spec Spec) *Router {
	t.Helper()
	r, err := Ensure(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(spec.Dir, "router.log"))
			s, _ := os.ReadFile(filepath.Join(spec.Dir, "state.json"))
			t.Logf("router.log:\n%s\nstate.json:\n%s", b, s)
		}
		if f, err := Find(context.Background(), spec.Dir); err == nil {
			_ = f.Stop(context.Background())
		}
	})
	return r
}

func get(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
}

func backend(t *testing.T, answer string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, answer) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestAdoptAndRestart: a second Ensure adopts the running router (same
// PID, same groups); a router killed with SIGKILL is started again by
// Supervise and comes back with its groups, targets and routing from its
// state file.
func TestAdoptAndRestart(t *testing.T) {
	spec := Spec{Dir: filepath.Join(t.TempDir(), "router"), Listen: addr(t), TestListen: addr(t)}
	r := ensure(t, spec)
	if r.Adopted {
		t.Fatal("a router in an empty directory was adopted")
	}
	ctx := context.Background()
	if err := r.SetGroup(ctx, "ts-1", []string{backend(t, "one")}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetGroup(ctx, "ts-2", []string{backend(t, "two")}); err != nil {
		t.Fatal(err)
	}
	blue, green, gw := "ts-1", "ts-2", 0
	if _, err := r.Route(ctx, router.RoutingRequest{Blue: &blue, Green: &green, Test: &green, GreenWeight: &gw}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, "http://"+spec.Listen+"/"); got != "200 one" {
		t.Fatalf("production: %s", got)
	}
	if got := get(t, "http://"+spec.TestListen+"/"); got != "200 two" {
		t.Fatalf("test listener: %s", got)
	}

	again := ensure(t, spec)
	if !again.Adopted || again.Info.PID != r.Info.PID {
		t.Fatalf("second Ensure: adopted %v, PID %d; want the running router %d adopted", again.Adopted, again.Info.PID, r.Info.PID)
	}

	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Supervise(ctx, spec, 50*time.Millisecond) }()
	defer func() { cancel(); <-done }()
	if err := syscall.Kill(r.Info.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for get(t, "http://"+spec.Listen+"/") != "200 one" {
		if time.Now().After(deadline) {
			t.Fatalf("production does not answer from blue after the router was killed: %s", get(t, "http://"+spec.Listen+"/"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := get(t, "http://"+spec.TestListen+"/"); got != "200 two" {
		t.Errorf("test listener after the restart: %s", got)
	}
	rt, err := r.Routing(context.Background())
	if err != nil || rt.Blue != "ts-1" || rt.Green != "ts-2" {
		t.Errorf("routing after the restart: %+v, %v", rt, err)
	}
	var info struct{ PID int }
	if err := r.Get(context.Background(), "/process", &info); err != nil || info.PID == r.Info.PID {
		t.Errorf("after the restart the router's PID is %d (%v); want a new process", info.PID, err)
	}
}

// TestReplacedWhenPortsChange: a router that listens elsewhere than the
// spec says is stopped and a new one started.
func TestReplacedWhenPortsChange(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "router")
	first := ensure(t, Spec{Dir: dir, Listen: addr(t)})
	second := ensure(t, Spec{Dir: dir, Listen: addr(t)})
	if second.Adopted || second.Info.PID == first.Info.PID {
		t.Fatalf("router on other ports was adopted (PID %d)", second.Info.PID)
	}
	if err := syscall.Kill(first.Info.PID, 0); err == nil && !zombie(first.Info.PID) {
		t.Errorf("the replaced router %d still runs", first.Info.PID)
	}
}

// TestStartFailureSaysWhy: a router that cannot start (its port taken)
// fails Ensure with the router's own words, and leaves nothing running.
func TestStartFailureSaysWhy(t *testing.T) {
	busy := httptest.NewServer(http.NotFoundHandler())
	defer busy.Close()
	_, err := Ensure(context.Background(), Spec{Dir: filepath.Join(t.TempDir(), "router"), Listen: strings.TrimPrefix(busy.URL, "http://")})
	if err == nil || !strings.Contains(err.Error(), "router did not start") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Ensure on a taken port: %v", err)
	}
}

// TestSocketPathForLongDirectories: a state directory too deep for a
// socket path gets a short socket of this user's.
func TestSocketPathForLongDirectories(t *testing.T) {
	deep := filepath.Join(t.TempDir(), strings.Repeat("d", 120))
	if err := os.MkdirAll(deep, 0o700); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Dir: filepath.Join(deep, "router"), Listen: addr(t)}
	r := ensure(t, spec)
	if got := get(t, "http://"+spec.Listen+"/"); !strings.HasPrefix(got, "503") {
		t.Errorf("an empty router answers %s; want 503", got)
	}
	if _, err := r.State(context.Background()); err != nil {
		t.Errorf("admin over the short socket: %v", err)
	}
}

// TestHandoverDropsNoRequest: a router handed over to a new process with
// new settings, under load on fresh and on kept-alive connections, fails
// no request; the new process serves the same groups and routing, with the
// new settings, and the old one is gone. An adopting Ensure with other
// settings hands over the same way.
func TestHandoverDropsNoRequest(t *testing.T) {
	spec := Spec{Dir: filepath.Join(t.TempDir(), "router"), Listen: addr(t), TestListen: addr(t),
		HealthCheck: router.HealthCheck{Path: "/", Interval: time.Second, Timeout: 500 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 2}}
	r := ensure(t, spec)
	ctx := context.Background()
	if err := r.SetGroup(ctx, "ts-1", []string{backend(t, "one"), backend(t, "one")}); err != nil {
		t.Fatal(err)
	}
	blue, gw := "ts-1", 0
	if _, err := r.Route(ctx, router.RoutingRequest{Blue: &blue, GreenWeight: &gw}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for get(t, "http://"+spec.Listen+"/") != "200 one" {
		if time.Now().After(deadline) {
			t.Fatal("targets never healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}

	var failures, total atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, keepAlive := range []bool{false, true} {
		wg.Go(func() {
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: !keepAlive}}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get("http://" + spec.Listen + "/")
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %s", resp.Status)
					}
				}
				total.Add(1)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	old := r.Info.PID
	spec.Logger = slog.New(slog.NewTextHandler(tWriter{t}, nil))
	for i := range 3 {
		spec.HealthCheck.Interval = time.Duration(2+i) * time.Second
		next, err := Ensure(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		if next.Info.PID == r.Info.PID || !slices.Contains(next.Info.Args, spec.HealthCheck.Interval.String()) {
			t.Fatalf("after the handover: PID %d (was %d), args %v", next.Info.PID, r.Info.PID, next.Info.Args)
		}
		r = next
		time.Sleep(300 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests through three handovers, %d failed", total.Load(), failures.Load())
	if failures.Load() != 0 {
		t.Errorf("%d of %d requests failed; first: %v", failures.Load(), total.Load(), firstErr.Load())
	}
	if rt, err := r.Routing(ctx); err != nil || rt.Blue != "ts-1" {
		t.Errorf("routing after the handovers: %+v, %v", rt, err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for syscall.Kill(old, 0) == nil && !zombie(old) {
		if time.Now().After(deadline) {
			t.Fatalf("the first router %d did not exit after handing over", old)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRouterEnvironment: the router gets none of the daemon's secrets.
func TestRouterEnvironment(t *testing.T) {
	got := routerEnv([]string{"PATH=/bin", "HOME=/h", "CANARYFLOW_TOKEN=t", "CANARYFLOW_WEBHOOK_SECRET=w", "AWS_SECRET_ACCESS_KEY=k",
		"GITHUB_TOKEN=g", "CANARYFLOW_TEST_RUN=r", "GOGC=50"})
	want := []string{"PATH=/bin", "HOME=/h", "CANARYFLOW_TEST_RUN=r", "GOGC=50"}
	if !slices.Equal(got, want) {
		t.Errorf("router environment %v, want %v", got, want)
	}
}
