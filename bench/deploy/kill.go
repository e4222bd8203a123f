package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// killTrials runs the real binaries: `up`, a canary held at 10% (a long
// interval), kill -9, `up` again, n times, under load on fresh
// connections. The router is a process of its own that each new daemon
// adopts: it counts the requests that failed through all the kills, times
// each restart to the daemon's API answering again, and reads back the
// split the router serves.
func killTrials(n int, binDir string) error {
	dir, err := os.MkdirTemp("", "canaryflow-bench-kill-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "canaryflow")
	if binDir != "" {
		// Binaries built elsewhere, such as from an earlier commit, to
		// measure it beside this one.
		bin = filepath.Join(binDir, "canaryflow")
	} else if out, err := exec.Command("go", "build", "-o", dir+"/", "./cmd/canaryflow", "./cmd/canaryflow-proxy").CombinedOutput(); err != nil {
		return fmt.Errorf("build canaryflow: %v: %s", err, out)
	}
	repo := filepath.Join(dir, "repo")
	prod := freePort()
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return err
	}
	testPort := freePort()
	writeConfig := func(interval int) error {
		return os.WriteFile(filepath.Join(repo, "canaryflow.yaml"), fmt.Appendf(nil, serviceYAML, prod, testPort, interval, "250ms"), 0o644)
	}
	if err := writeConfig(2); err != nil {
		return err
	}
	env := append(os.Environ(), "CANARYFLOW_STATE_DIR="+filepath.Join(dir, "state"), "CANARYFLOW_REGISTRY_ADDR=127.0.0.1:0")
	cf := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, append([]string{"-C", repo}, args...)...)
		c.Env = env
		return c
	}
	abs, _ := filepath.Abs("bench/deploy/app")
	if out, err := cf("image", "build", "--repo", "app", "--tag", "v1", abs).CombinedOutput(); err != nil {
		return fmt.Errorf("image build: %v: %s", err, out)
	}
	logf, err := os.Create(filepath.Join(dir, "up.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	up := func() (*exec.Cmd, error) {
		c := cf("up", "--api", "127.0.0.1:0")
		c.Stdout, c.Stderr = logf, logf
		return c, c.Start()
	}
	daemon, err := up()
	if err != nil {
		return err
	}
	if out, err := cf("deploy", "create", "--image", "app:v1", "--wait", "--connect-timeout", "60s").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(logf.Name())
		return fmt.Errorf("first deployment: %v: %s\nup: %s", err, out, log)
	}
	// The next deployment holds at 10% for 10 minutes: settings are
	// frozen when a deployment is created, so a restart with a longer
	// interval in the file gives it that interval.
	_ = daemon.Process.Signal(os.Interrupt)
	_ = daemon.Wait()
	if err := writeConfig(600); err != nil {
		return err
	}
	if daemon, err = up(); err != nil {
		return err
	}
	if out, err := cf("deploy", "create", "--image", "app:v1", "--connect-timeout", "60s").CombinedOutput(); err != nil {
		return fmt.Errorf("held deployment: %v: %s", err, out)
	}
	waitGreen := func() error {
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			out, _ := cf("status", "-o", "json").Output()
			if strings.Contains(string(out), `"greenPercent": 10`) {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return fmt.Errorf("canary never reached 10%%")
	}
	if err := waitGreen(); err != nil {
		return err
	}
	// Load on fresh connections, as new visitors come, through every kill.
	fresh := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var sent, failed atomic.Int64
	lctx, lstop := context.WithCancel(context.Background())
	var lwg sync.WaitGroup
	lwg.Go(func() {
		tick := time.NewTicker(time.Second / 100)
		defer tick.Stop()
		var wg sync.WaitGroup
		defer wg.Wait()
		for {
			select {
			case <-lctx.Done():
				return
			case <-tick.C:
			}
			sent.Add(1)
			wg.Go(func() {
				resp, err := fresh.Get(fmt.Sprintf("http://127.0.0.1:%d/", prod))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			})
		}
	})
	var restart []time.Duration
	for range n {
		_ = daemon.Process.Kill()
		_ = daemon.Wait()
		start := time.Now()
		if daemon, err = up(); err != nil {
			lstop()
			return err
		}
		// Back when the new daemon's API answers (it has adopted the
		// router and restored the deployment by then).
		for {
			if out, err := cf("status", "-o", "json").Output(); err == nil && strings.Contains(string(out), `"greenPercent": 10`) {
				break
			}
			if time.Since(start) > time.Minute {
				lstop()
				return fmt.Errorf("daemon not back after restart")
			}
			time.Sleep(5 * time.Millisecond)
		}
		restart = append(restart, time.Since(start))
		time.Sleep(500 * time.Millisecond) // load between kills
	}
	lstop()
	lwg.Wait()
	slices.Sort(restart)
	fmt.Printf("D kill -9 at 10%%, %d kills under 100 req/s on fresh connections: requests failed %d of %d; daemon back (API, split 10%% read back) p50 %s max %s\n",
		n, failed.Load(), sent.Load(), pct(restart, 50), restart[len(restart)-1])
	_ = daemon.Process.Signal(os.Interrupt)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { _ = daemon.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		_ = daemon.Process.Kill()
	}
	// The daemon leaves tasks running for the next start: stop them, and
	// the held deployment with them.
	_, _ = cf("deploy", "stop", "d-000002").Output()
	stop := cf("up", "--api", "127.0.0.1:0", "--stop-tasks")
	if err := stop.Start(); err == nil {
		_, _ = cf("status", "--connect-timeout", "60s").Output()
		_ = stop.Process.Signal(os.Interrupt)
		_ = stop.Wait()
	}
	return nil
}
