package routerproc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/leakcheck"
	"github.com/canaryflow/canaryflow/internal/router"
	"github.com/canaryflow/canaryflow/internal/testport"
)

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
