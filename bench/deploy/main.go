// Command deploy measures canaryflow's deployment controller end to end
// with the process runtime (see bench/README.md, "Deployments"):
//
//	go run ./bench/deploy -trials 20 -rps 1000
//
// A: a broken release (100% 5xx) at the 10% canary step under load: time
// from its first failed answer to its last (all traffic back on blue),
// with 250 ms alarm periods. B: healthy canaries with 1% background
// errors on both versions: how many were rolled back by mistake, and
// requests dropped through each canary. C: requests dropped through a
// rollback (stop at 10%). D: kill -9 of `canaryflow up` at 10%, again and
// again, under load on fresh connections: requests failed (the router is a
// process of its own, adopted by each new daemon), and the time until the
// new daemon answers with the split read back.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/canaryflow/canaryflow/internal/build"
	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/registry"
	"github.com/canaryflow/canaryflow/internal/server"
)

// binDir is -bin.
var binDir string

func main() {
	trials := flag.Int("trials", 20, "trials per experiment")
	rps := flag.Int("rps", 1000, "production requests per second")
	only := flag.String("only", "ABCDP", "experiments to run (P: the 10s-period peer of A)")
	flag.StringVar(&binDir, "bin", "", "D only: run the canaryflow (and canaryflow-proxy) binaries in this directory instead of building them, e.g. an earlier commit's")
	flag.Parse()
	if err := run(*trials, *rps, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

const serviceYAML = `service:
  name: app
  runtime: process
  container: {port: 3000}
  desired_count: 2
  health_check: {path: /healthz, interval: 500ms, timeout: 400ms}
  listeners: {production_port: %d, test_port: %d}
  deployment_config: {type: TimeBasedCanary, percent: 10, interval: %d}
  termination_wait: 1s
  alarms: {period: %s}
`

func taskdef(failPercent float64) string {
	return fmt.Sprintf(`{"family": "app", "containerDefinitions": [{"name": "app", "image": "<IMAGE1_NAME>",
  "portMappings": [{"containerPort": 3000}], "environment": [{"name": "FAIL_PERCENT", "value": "%g"}]}]}`, failPercent)
}

type bench struct {
	ctx    context.Context
	client *server.Client
	image  string
	prod   string
	load   *load
}

func run(trials, rps int, only string) error {
	fmt.Printf("date: %s\n", time.Now().UTC().Format(time.RFC3339))
	has := func(x rune) bool { return slices.Contains([]rune(only), x) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stateDir, err := os.MkdirTemp("", "canaryflow-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stateDir)
	// The daemon runs its router as a process of its own: canaryflow-proxy.
	proxy := filepath.Join(stateDir, "canaryflow-proxy")
	if out, err := exec.Command("go", "build", "-o", proxy, "./cmd/canaryflow-proxy").CombinedOutput(); err != nil {
		return fmt.Errorf("build canaryflow-proxy (run from the repository root): %v: %s", err, out)
	}
	prodPort, testPort := freePort(), freePort()
	start := func(period string, interval int, stopTasks bool) (server.Info, func(), error) {
		cfg, err := config.Parse("canaryflow.yaml", fmt.Appendf(nil, serviceYAML, prodPort, testPort, interval, period))
		if err != nil {
			return server.Info{}, nil, err
		}
		dctx, dcancel := context.WithCancel(ctx)
		ready := make(chan server.Info, 1)
		done := make(chan error, 1)
		go func() {
			done <- server.Run(dctx, server.Options{Config: cfg, StateDir: stateDir, APIAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0",
				StopTasksOnExit: stopTasks, RouterCommand: []string{proxy}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(i server.Info) { ready <- i }})
		}()
		select {
		case info := <-ready:
			return info, func() { dcancel(); <-done }, nil
		case err := <-done:
			dcancel()
			return server.Info{}, nil, err
		}
	}
	info, stop, err := start("250ms", 2, false)
	if err != nil {
		return err
	}
	token, err := registry.LoadOrCreateToken(filepath.Join(stateDir, "registry"))
	if err != nil {
		return err
	}
	img, err := build.GoImage(ctx, build.GoImageOptions{Dir: "bench/deploy/app", Version: "1.0.0"})
	if err != nil {
		return fmt.Errorf("build app (run from the repository root): %w", err)
	}
	ref, err := build.Push(ctx, img, build.Target{Registry: info.Registry, Repository: "app", Tag: "v1", Token: token})
	if err != nil {
		return err
	}
	b := &bench{ctx: ctx, client: &server.Client{Addr: info.API, Token: info.Token}, image: ref.String(),
		prod: fmt.Sprintf("127.0.0.1:%d", prodPort), load: newLoad(fmt.Sprintf("127.0.0.1:%d", prodPort))}
	if _, err := b.deploy(taskdef(0), nil); err != nil {
		return err
	}
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	loadStart := time.Now()
	go b.load.run(lctx, rps)
	if has('A') {
		if err := b.faultTrials(trials, "250ms"); err != nil {
			return err
		}
	}
	if has('B') {
		if err := b.healthyTrials(trials); err != nil {
			return err
		}
	}
	if has('C') {
		if err := b.rollbackTrials(max(trials/4, 3)); err != nil {
			return err
		}
	}
	fmt.Printf("load: %d requests sent in %s (%.0f/s of %d/s asked)\n", b.load.total.Load(), time.Since(loadStart).Round(time.Second),
		float64(b.load.total.Load())/time.Since(loadStart).Seconds(), rps)
	if has('P') {
		// Peer: the same fault with AWS's floor for an alarm period (10s,
		// 2 of 3 datapoints), on a daemon restarted over the same store;
		// the canary step lasts 90s so the alarm has time to fire.
		stop()
		if info, stop, err = start("10s", 90, false); err != nil {
			return err
		}
		b.client = &server.Client{Addr: info.API, Token: info.Token}
		if err := b.faultTrials(3, "10s"); err != nil {
			return err
		}
	}
	lcancel()
	stop()
	// One more start to stop and remove the tasks left for adoption.
	if _, stop, err = start("250ms", 2, true); err != nil {
		return err
	}
	stop()
	if has('D') {
		if err := killTrials(trials, binDir); err != nil {
			return err
		}
	}
	return nil
}

// deploy creates a deployment and waits for it; at, when set, is called
// once green has 10% of production traffic.
func (b *bench) deploy(td string, at func(id string)) (*deploy.Deployment, error) {
	d, err := b.client.Create(b.ctx, server.CreateRequest{Image: b.image, TaskDef: td})
	if err != nil {
		return nil, err
	}
	called := false
	for {
		v, err := b.client.Get(b.ctx, d.ID)
		if err != nil {
			return nil, err
		}
		if at != nil && !called && v.Deployment.GreenPercent == 10 {
			called = true
			at(d.ID)
		}
		if v.Deployment.Done() {
			return &v.Deployment, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *bench) faultTrials(n int, period string) error {
	var reaction []time.Duration
	var dropped int64
	for i := range n {
		b.load.reset()
		d, err := b.deploy(taskdef(100), nil)
		if err != nil {
			return err
		}
		time.Sleep(500 * time.Millisecond) // answers in flight settle
		b.load.mu.Lock()
		r := b.load.lastInjected.Sub(b.load.firstInjected)
		dropped += b.load.other
		b.load.mu.Unlock()
		if d.Status != deploy.StatusStopped || !d.RolledBack {
			fmt.Printf("A trial %d: not rolled back: %s %v\n", i, d.Status, d.Error)
		}
		reaction = append(reaction, r)
	}
	slices.Sort(reaction)
	fmt.Printf("A fault at 10%% → all traffic on blue (first to last failed answer), %d trials: p50 %s  p99 %s  max %s  (alarm period %s, 2 of 3 datapoints)\n",
		n, pct(reaction, 50), pct(reaction, 99), reaction[len(reaction)-1], period)
	fmt.Printf("A requests dropped (failed without being the release's own 500s): %d\n", dropped)
	return nil
}

func (b *bench) healthyTrials(n int) error {
	if _, err := b.deploy(taskdef(1), nil); err != nil { // blue with 1% errors too
		return err
	}
	falseRollbacks := 0
	var dropped, requests int64
	for range n {
		b.load.reset()
		d, err := b.deploy(taskdef(1), nil)
		if err != nil {
			return err
		}
		if d.Status != deploy.StatusSucceeded {
			falseRollbacks++
			fmt.Printf("B false rollback: %s %+v\n", d.ID, d.Error)
		}
		b.load.mu.Lock()
		dropped += b.load.other
		requests += b.load.ok + b.load.fail
		b.load.mu.Unlock()
	}
	fmt.Printf("B healthy canaries with 1%% background errors: %d of %d rolled back by mistake\n", falseRollbacks, n)
	fmt.Printf("B requests through %d full canaries (10%% → 100%%): %d, dropped %d\n", n, requests, dropped)
	return nil
}

func (b *bench) rollbackTrials(n int) error {
	if _, err := b.deploy(taskdef(0), nil); err != nil {
		return err
	}
	var dropped, requests int64
	for range n {
		b.load.reset()
		d, err := b.deploy(taskdef(0), func(id string) { _, _ = b.client.Stop(b.ctx, id, true) })
		if err != nil {
			return err
		}
		if !d.RolledBack {
			fmt.Printf("C %s not rolled back: %s\n", d.ID, d.Status)
		}
		time.Sleep(300 * time.Millisecond)
		b.load.mu.Lock()
		dropped += b.load.fail
		requests += b.load.ok + b.load.fail
		b.load.mu.Unlock()
	}
	fmt.Printf("C requests through %d rollbacks (stop at 10%%): %d, failed %d\n", n, requests, dropped)
	return nil
}

func pct(s []time.Duration, p int) time.Duration {
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}
