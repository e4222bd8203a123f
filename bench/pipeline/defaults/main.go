// Command defaults measures tag → first answer of the new version with the
// canaryflow.yaml that `canaryflow init` writes (see bench/README.md,
// "Pipeline: tag → first answer with the defaults"):
//
//	go build -o bin/ ./cmd/canaryflow ./cmd/canaryflow-proxy
//	go run ./bench/pipeline/defaults -bin bin/canaryflow -rounds 5 -runtime process
//
// Everything goes through the real binaries, as a new user would: a
// repository holding examples/hello (the demo's, with its .buildspec.yml
// running go vet), a bare origin beside it, `canaryflow init`, then only
// what running on this machine needs (free ports for the two listeners,
// the same test port in the SmokeTest hook, and `pipeline: {}` so `up`
// watches origin), `canaryflow up`, and releases made with `canaryflow flow
// release finish --push`. Under 200 requests a second on the production
// listener (a new connection each), each round measures, from the push of
// the tag (when its ref appeared in origin) to the first answer of the new
// version:
//
//   - a first deployment: v1.0.0 in a new workspace;
//   - a 10% canary: v1.1.0 beside v1.0.0, in a second workspace where
//     v1.0.0 was deployed all at once (setup, not measured: the default
//     canary holds a deployment for 5 minutes, and its termination wait 5
//     more) before `canaryflow up` is started again with the file exactly
//     as `init` wrote it, committed in v1.1.0 too.
//
// The canary's time is split by the daemon's log into source (push → Build
// started), build (→ Deploy started), task start (→ first task started),
// health (→ Install sees green healthy), hooks+shift (→ traffic shifted)
// and answer.
// The first round warms the Go build cache and is not counted.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/canaryflow/canaryflow/examples"
	"github.com/canaryflow/canaryflow/internal/runtime"
)

func main() {
	bin := flag.String("bin", "bin/canaryflow", "the canaryflow binary (canaryflow-proxy beside it)")
	rounds := flag.Int("rounds", 5, "counted rounds (one more warms the caches)")
	rt := flag.String("runtime", "process", "task runtime: process or docker")
	rps := flag.Int("rps", 200, "requests a second on the production listener")
	keep := flag.Bool("keep", false, "keep each round's workspace")
	flag.Parse()
	if *rounds < 1 {
		fmt.Fprintln(os.Stderr, "bench: -rounds must be at least 1")
		os.Exit(2)
	}
	abs, err := filepath.Abs(*bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	b := &bench{bin: abs, runtime: *rt, rps: *rps, keep: *keep}
	if err := b.run(*rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench is one run: a binary, a runtime and a load.
type bench struct {
	bin, runtime string
	rps          int
	keep         bool
}

// result is one round's figures.
type result struct {
	first, canary time.Duration
	phases        []phase // of the canary release
}

// phase is one part of a release's time, named by the log line ending it.
type phase struct {
	name string
	d    time.Duration
}

func (b *bench) run(rounds int) error {
	var firsts, canaries []time.Duration
	phaseRuns := map[string][]time.Duration{}
	var phaseOrder []string
	for i := 0; i <= rounds; i++ {
		r, err := b.round()
		if err != nil {
			return fmt.Errorf("round %d: %w", i, err)
		}
		label := fmt.Sprintf("round %d", i)
		if i == 0 {
			label = "warm-up"
		}
		fmt.Printf("%-8s %-7s v1.0.0 (first deployment) %6.0f ms   v1.1.0 (10%% canary) %6.0f ms   [", label, b.runtime, ms(r.first), ms(r.canary))
		for j, p := range r.phases {
			if j > 0 {
				fmt.Print(", ")
			}
			fmt.Printf("%s %.0f", p.name, ms(p.d))
		}
		fmt.Println("]")
		if i == 0 {
			continue
		}
		firsts, canaries = append(firsts, r.first), append(canaries, r.canary)
		for _, p := range r.phases {
			if _, ok := phaseRuns[p.name]; !ok {
				phaseOrder = append(phaseOrder, p.name)
			}
			phaseRuns[p.name] = append(phaseRuns[p.name], p.d)
		}
	}
	fmt.Printf("%-7s tag → first answer, defaults: v1.1.0 canary n=%d p50 %.0f ms max %.0f ms; v1.0.0 first deployment p50 %.0f ms max %.0f ms\n",
		b.runtime, len(canaries), ms(p50(canaries)), ms(slices.Max(canaries)), ms(p50(firsts)), ms(slices.Max(firsts)))
	fmt.Printf("%-7s where v1.1.0's time goes (p50 of each phase, ms):", b.runtime)
	for _, n := range phaseOrder {
		fmt.Printf(" %s %.0f", n, ms(p50(phaseRuns[n])))
	}
	fmt.Println()
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func p50(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

const buildspec = `version: 0.2
phases:
  pre_build:
    commands:
      - go vet ./...
`

// round measures a first deployment in one workspace, then a canary in
// another.
func (b *bench) round() (res result, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if res.first, _, err = b.first(ctx); err != nil {
		return res, fmt.Errorf("first deployment: %w", err)
	}
	if res.canary, res.phases, err = b.canary(ctx); err != nil {
		return res, fmt.Errorf("canary: %w", err)
	}
	return res, nil
}

// first: a new repository, `canaryflow init`, `canaryflow up`, and the
// first release v1.0.0; production answers 503 until its first task is in.
func (b *bench) first(ctx context.Context) (time.Duration, []phase, error) {
	w, err := b.newWorkspace(ctx)
	if err != nil {
		return 0, nil, err
	}
	defer w.close()
	if err := w.commitDefaults(ctx); err != nil {
		return 0, nil, err
	}
	if err := w.up(ctx, "--stop-tasks"); err != nil {
		return 0, nil, err
	}
	w.startLoad(b.rps)
	return w.release(ctx, "1.0.0")
}

// canary: v1.0.0 deployed all at once (setup, not measured), then
// `canaryflow up` again with the canaryflow.yaml exactly as `init` wrote it
// (localized), and v1.1.0 as a 10% canary beside v1.0.0.
func (b *bench) canary(ctx context.Context) (time.Duration, []phase, error) {
	w, err := b.newWorkspace(ctx)
	if err != nil {
		return 0, nil, err
	}
	defer w.close()
	// v1.0.0 carries the setup's settings in its own commit too, so the
	// setup holds whether a deployment's settings come from the daemon's
	// file or from the release.
	if err := w.commitDefaults(ctx,
		[2]string{"deployment_config: CodeDeployDefault.ECSCanary10Percent5Minutes", "deployment_config: CodeDeployDefault.ECSAllAtOnce"},
		[2]string{"termination_wait: 5m", "termination_wait: 1s"}); err != nil {
		return 0, nil, err
	}
	if err := w.up(ctx, ""); err != nil {
		return 0, nil, err
	}
	w.startLoad(b.rps)
	if _, _, err := w.release(ctx, "1.0.0"); err != nil {
		return 0, nil, err
	}
	if err := w.cf(ctx, "deploy", "status", "--watch", "d-000001"); err != nil {
		return 0, nil, err
	}
	w.stopDaemon(false) // v1.0.0's task keeps running; the next daemon adopts it
	if err := w.sh(ctx, "git", "checkout", "--quiet", "develop"); err != nil {
		return 0, nil, err
	}
	if err := os.WriteFile(filepath.Join(w.dir, "canaryflow.yaml"), []byte(w.config), 0o644); err != nil {
		return 0, nil, err
	}
	if err := os.WriteFile(filepath.Join(w.dir, "main.go"), append(w.mainGo, "\n// A change for v1.1.0.\n"...), 0o644); err != nil {
		return 0, nil, err
	}
	if err := w.sh(ctx, "git", "commit", "--quiet", "-am", "feat: a change, with canaryflow.yaml as init wrote it"); err != nil {
		return 0, nil, err
	}
	if err := w.up(ctx, "--stop-tasks"); err != nil {
		return 0, nil, err
	}
	w.load.forget()
	if _, err := w.load.waitFor(ctx, "Version: 1.0.0"); err != nil {
		return 0, nil, err
	}
	return w.release(ctx, "1.1.0")
}

// workspace is one repository with its origin, state and daemon.
type workspace struct {
	keep       bool
	bin, rt    string
	root, dir  string
	env        []string
	mainGo     []byte
	config     string // canaryflow.yaml as init wrote it, localized
	prod       int
	daemon     *exec.Cmd
	exited     chan struct{}
	logf       *os.File
	logPath    string
	stopsTasks bool // the daemon runs with --stop-tasks
	registries []string
	load       *load
	stopLoad   func()
}

func (b *bench) newWorkspace(ctx context.Context) (*workspace, error) {
	root, err := os.MkdirTemp("", "canaryflow-bench-defaults-")
	if err != nil {
		return nil, err
	}
	if b.keep {
		fmt.Println("workspace:", root)
	}
	w := &workspace{keep: b.keep, bin: b.bin, rt: b.runtime, root: root, dir: filepath.Join(root, "hello"),
		logPath: filepath.Join(root, "daemon.log")}
	w.env = append(os.Environ(), "CANARYFLOW_STATE_DIR="+filepath.Join(root, "state"),
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@canaryflow.invalid",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@canaryflow.invalid")
	if w.logf, err = os.Create(w.logPath); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	if err := w.init(ctx); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *workspace) sh(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = w.dir, w.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func (w *workspace) cf(ctx context.Context, args ...string) error { return w.sh(ctx, w.bin, args...) }

// init makes origin.git and hello/ holding examples/hello, then runs
// `canaryflow init` and `canaryflow flow init`.
func (w *workspace) init(ctx context.Context) error {
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return err
	}
	var err error
	if w.mainGo, err = fs.ReadFile(examples.Hello, "hello/main.go"); err != nil {
		return err
	}
	files := map[string]string{
		"main.go": string(w.mainGo), "go.mod": "module example.com/hello\n\ngo 1.26\n",
		"VERSION": "0.0.0\n", ".buildspec.yml": buildspec, ".gitignore": "/hello\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(w.dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	for _, step := range [][]string{
		{"git", "init", "--quiet", "--bare", filepath.Join(w.root, "origin.git")},
		{"git", "init", "--quiet"}, {"git", "remote", "add", "origin", "../origin.git"},
		{w.bin, "init", "--name", "hello"}, {w.bin, "flow", "init"},
	} {
		if err := w.sh(ctx, step[0], step[1:]...); err != nil {
			return err
		}
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	w.prod = ports[0]
	b, err := os.ReadFile(filepath.Join(w.dir, "canaryflow.yaml"))
	if err != nil {
		return err
	}
	w.config, err = localize(string(b), w.prod, ports[1])
	return err
}

// commitDefaults commits the service with the localized configuration,
// with edits (old, new) made to it, on main and develop, and pushes both.
func (w *workspace) commitDefaults(ctx context.Context, edits ...[2]string) error {
	cfg := w.config
	for _, e := range edits {
		if !strings.Contains(cfg, e[0]) {
			return fmt.Errorf("canaryflow.yaml: no %q (did `canaryflow init` change?)", e[0])
		}
		cfg = strings.Replace(cfg, e[0], e[1], 1)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "canaryflow.yaml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	for _, step := range [][]string{
		{"git", "add", "-A"}, {"git", "commit", "--quiet", "-m", "chore: the hello service"},
		{"git", "branch", "--force", "develop", "main"}, {"git", "push", "--quiet", "origin", "main", "develop"},
	} {
		if err := w.sh(ctx, step[0], step[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// release cuts and finishes a release with the Gitflow commands and
// returns the time from the push of the tag (the modification time of its
// ref in origin) to the first answer of the new version, split by the
// daemon's log.
func (w *workspace) release(ctx context.Context, version string) (time.Duration, []phase, error) {
	if err := w.cf(ctx, "flow", "release", "start", version); err != nil {
		return 0, nil, err
	}
	if err := w.cf(ctx, "flow", "release", "finish", "--push"); err != nil {
		return 0, nil, err
	}
	// The push of the tag, as origin saw it: finish goes on to delete the
	// release branch on origin after it, and the pipeline may have started
	// by the time it returns.
	fi, err := os.Stat(filepath.Join(w.root, "origin.git", "refs", "tags", "v"+version))
	if err != nil {
		return 0, nil, fmt.Errorf("the tag's ref in origin: %w", err)
	}
	pushed := fi.ModTime()
	seen, err := w.load.waitFor(ctx, "Version: "+version)
	if err != nil {
		return 0, nil, err
	}
	ph, err := phases(w.logPath, "v"+version, pushed, seen)
	return seen.Sub(pushed), ph, err
}

func (w *workspace) startLoad(rps int) {
	w.load = newLoad(fmt.Sprintf("http://127.0.0.1:%d/", w.prod), rps)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.load.run(ctx) }()
	w.stopLoad = func() { cancel(); <-done }
}

// close stops the load and the daemon (and its tasks), removes the images
// the engine pulled from the daemon's registries, and the workspace.
func (w *workspace) close() {
	if w.stopLoad != nil {
		w.stopLoad()
	}
	w.stopDaemon(true)
	w.logf.Close()
	if w.rt == runtime.ModeDocker {
		for _, reg := range w.registries {
			if _, err := runtime.RemoveImages(context.Background(), reg); err != nil {
				fmt.Fprintln(os.Stderr, "warning:", err)
			}
		}
	}
	if !w.keep {
		os.RemoveAll(w.root)
	}
}

// localize makes the canaryflow.yaml `init` wrote run on this machine: free
// listener ports (the SmokeTest hook calls the test port) and a pipeline
// section, with every other setting as written.
func localize(cfg string, prod, test int) (string, error) {
	for _, r := range [][2]string{
		{"production_port: 8080", fmt.Sprintf("production_port: %d", prod)},
		{"test_port: 8081", fmt.Sprintf("test_port: %d", test)},
		{"127.0.0.1:8081", fmt.Sprintf("127.0.0.1:%d", test)},
	} {
		if !strings.Contains(cfg, r[0]) {
			return "", fmt.Errorf("canaryflow.yaml: no %q (did `canaryflow init` change?)", r[0])
		}
		cfg = strings.Replace(cfg, r[0], r[1], 1)
	}
	return cfg + "\npipeline: {}   # watch origin's tags\n", nil
}

// freePorts returns n distinct loopback ports free now.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close() // held until all are chosen, so they differ
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// up runs `canaryflow up` (with flag, when not empty) and returns once
// its API is ready.
func (w *workspace) up(ctx context.Context, flag string) error {
	args := []string{"up", "--runtime", w.rt, "--api", "127.0.0.1:0", "--registry-addr", "127.0.0.1:0", "--log-format", "json"}
	if flag != "" {
		args = append(args, flag)
	}
	infoPath := filepath.Join(w.root, "state", "daemon.json")
	os.Remove(infoPath)
	cmd := exec.Command(w.bin, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = w.dir, w.env, w.logf, w.logf
	if err := cmd.Start(); err != nil {
		return err
	}
	w.daemon, w.exited = cmd, make(chan struct{})
	w.stopsTasks = flag == "--stop-tasks"
	go func(exited chan struct{}) { cmd.Wait(); close(exited) }(w.exited)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var info struct{ Registry string }
		if data, err := os.ReadFile(infoPath); err == nil && json.Unmarshal(data, &info) == nil {
			w.registries = append(w.registries, info.Registry)
			return nil
		}
		select {
		case <-w.exited:
			w.daemon = nil
			out, _ := os.ReadFile(w.logPath)
			return fmt.Errorf("canaryflow up exited:\n%s", out)
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.New("canaryflow up: no daemon.json after 30s")
		}
	}
}

// stopDaemon ends the daemon with SIGTERM. With tasks, its tasks stop
// too: a daemon started without --stop-tasks is started again with it and
// stopped, so it adopts them and stops them as it would its own.
func (w *workspace) stopDaemon(tasks bool) {
	if w.daemon == nil {
		return
	}
	_ = w.daemon.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "warning: canaryflow up did not stop within 30s; killing it")
		_ = w.daemon.Process.Kill()
		<-w.exited
	}
	w.daemon = nil
	if tasks && !w.stopsTasks {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := w.up(ctx, "--stop-tasks"); err != nil {
			fmt.Fprintln(os.Stderr, "warning: tasks may be left running:", err)
			return
		}
		w.stopDaemon(true)
	}
}

// milestones are the daemon's log lines that end each phase of a release,
// in order.
var milestones = []struct {
	phase string
	match func(m map[string]any) bool
}{
	{"source", func(m map[string]any) bool { return m["msg"] == "stage started" && m["stage"] == "Build" }},
	{"build", func(m map[string]any) bool { return m["msg"] == "stage started" && m["stage"] == "Deploy" }},
	// The router is a process of its own with a log of its own: these two
	// are the daemon's view, a task started and Install seeing green
	// healthy (within its 50 ms look).
	{"task start", func(m map[string]any) bool { return m["msg"] == "task started" }},
	{"health", func(m map[string]any) bool { return m["msg"] == "green healthy" }},
	{"hooks+shift", func(m map[string]any) bool { return m["msg"] == "traffic shifted" }},
}

// phases splits [pushed, seen] by the first log line of each milestone
// after pushed; the last phase ("answer") runs to the first answer seen. A
// milestone after seen is left out: a first deployment, with no blue,
// answers as soon as green is healthy, before its traffic shifts.
func phases(logPath, tag string, pushed, seen time.Time) ([]phase, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []phase
	prev, next := pushed, 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && next < len(milestones) {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("{")) {
			continue
		}
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(m["time"]))
		if err != nil || at.Before(pushed) {
			continue
		}
		if at.After(seen) {
			break
		}
		if milestones[next].match(m) {
			out = append(out, phase{milestones[next].phase, at.Sub(prev)})
			prev = at
			next++
		}
	}
	if next < len(milestones)-1 {
		return nil, fmt.Errorf("%s: no %q line in the daemon log between the push of %s and its first answer", logPath, milestones[next].phase, tag)
	}
	return append(out, phase{"answer", seen.Sub(prev)}), nil
}

// load sends GET / at a fixed rate, each on a new connection as a new
// client would, and remembers when each answer was first seen.
type load struct {
	url   string
	rps   int
	mu    sync.Mutex
	first map[string]time.Time
	wake  chan struct{}
}

func newLoad(url string, rps int) *load {
	return &load{url: url, rps: rps, first: map[string]time.Time{}, wake: make(chan struct{})}
}

func (l *load) run(ctx context.Context) {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(time.Second / time.Duration(l.rps))
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(l.url)
			if err != nil {
				return
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
			resp.Body.Close()
			now := time.Now()
			key := strings.TrimSpace(string(body))
			l.mu.Lock()
			if _, ok := l.first[key]; !ok {
				l.first[key] = now
				close(l.wake)
				l.wake = make(chan struct{})
			}
			l.mu.Unlock()
		}()
	}
}

// forget forgets the answers seen so far.
func (l *load) forget() {
	l.mu.Lock()
	clear(l.first)
	l.mu.Unlock()
}

// waitFor returns when body was first answered.
func (l *load) waitFor(ctx context.Context, body string) (time.Time, error) {
	for {
		l.mu.Lock()
		at, ok := l.first[body]
		wake := l.wake
		l.mu.Unlock()
		if ok {
			return at, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("no %q from production: %w", body, ctx.Err())
		case <-wake:
		}
	}
}
