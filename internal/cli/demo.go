package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/examples"
	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/flow"
	"github.com/canaryflow/canaryflow/internal/git"
	"github.com/canaryflow/canaryflow/internal/pipeline"
	"github.com/canaryflow/canaryflow/internal/runtime"
	"github.com/canaryflow/canaryflow/internal/server"
)

// demoOptions tune `canaryflow demo`.
type demoOptions struct {
	keep    bool
	runtime string // auto, docker or process
	rps     int
	dir     string // parent of the workspace; zero means the system's temp dir
	canary  time.Duration
}

func newDemoCommand() *cobra.Command {
	o := demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The whole release process on this machine: Gitflow tags → build → canary → rollback",
		Long: `Runs the release guide end to end in a temporary workspace, in about a minute:

  1. a repository for examples/hello with a bare origin, and the local stack
     (registry, runtime, router, deployment controller, pipeline) started;
  2. v1.0.0 released with the Gitflow commands: the tag is built and deployed;
  3. a feature, then v1.1.0: a 10% canary, then 100%, while a built-in load
     generator shows the live split and error rate;
  4. v1.2.0 with a bug: its error rate climbs, the alarm fires and the
     deployment rolls back by itself;
  5. a summary with the measured times (tag → canary, fault → rollback).

Everything runs on loopback; nothing leaves the machine. The workspace is
removed at the end unless --keep is given.`,
		Example: "  canaryflow demo\n  canaryflow demo --runtime process --keep",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch o.runtime {
			case "auto", "docker", "process":
			default:
				return usageErrorf("--runtime %q: want auto, docker or process", o.runtime)
			}
			if o.rps < 20 || o.rps > 5000 {
				return usageErrorf("--rps %d: want 20 to 5000", o.rps)
			}
			if o.canary < 2*time.Second || o.canary > 10*time.Minute {
				return usageErrorf("--canary %s: want 2s to 10m", o.canary)
			}
			return runDemo(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&o.keep, "keep", false, "keep the workspace (repository, state, logs) afterwards")
	cmd.Flags().StringVar(&o.runtime, "runtime", "auto", "task runtime: auto (docker when an engine answers), docker or process")
	cmd.Flags().IntVar(&o.rps, "rps", 200, "load generator's request rate on the production listener")
	cmd.Flags().StringVar(&o.dir, "dir", "", "create the workspace under this directory (default: the system's temp dir)")
	cmd.Flags().DurationVar(&o.canary, "canary", 10*time.Second, "how long the 10% canary bakes before the rest of the traffic moves")
	return cmd
}

// demo is one run of the demo.
type demo struct {
	o      demoOptions
	out    io.Writer
	tty    bool
	ws     string
	repo   *git.Repo
	flow   *flow.Flow
	client *server.Client
	prod   string
	load   *loadGen
	start  time.Time
	rows   []demoRow
}

// demoRow is one release in the summary.
type demoRow struct {
	tag, outcome  string
	tagToCanary   time.Duration // zero when not measured
	faultRollback time.Duration
}

func runDemo(ctx context.Context, o demoOptions, out io.Writer) (err error) {
	d := &demo{o: o, out: out, start: time.Now()}
	d.tty = isTerminal(out)
	d.ws, err = os.MkdirTemp(o.dir, "canaryflow-demo-")
	if err != nil {
		return fmt.Errorf("demo workspace: %w", err)
	}
	defer func() {
		if o.keep {
			fmt.Fprintf(out, "\nWorkspace kept: %s (repository in hello/, daemon log in daemon.log)\n", d.ws)
			return
		}
		os.RemoveAll(d.ws)
	}()
	fmt.Fprintf(out, "canaryflow demo — the release guide, end to end, on this machine\n\n")

	mode, err := demoRuntime(ctx, o.runtime, d.ws)
	if err != nil {
		return err
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	if err := d.makeRepo(ctx, mode, ports[0], ports[1]); err != nil {
		return fmt.Errorf("demo repository: %w", err)
	}
	d.prod = fmt.Sprintf("127.0.0.1:%d", ports[0])
	fmt.Fprintf(out, "  workspace   %s%s\n", d.ws, map[bool]string{true: "", false: "  (removed at the end; --keep keeps it)"}[o.keep])
	fmt.Fprintf(out, "  runtime     %s\n", mode)
	fmt.Fprintf(out, "  listeners   production %s, test 127.0.0.1:%d\n", d.prod, ports[1])
	fmt.Fprintf(out, "  canary      10%% for %s, then 100%%; alarm: 5xx ≥ 5%% in 2 of 3 periods of 250ms\n\n", o.canary)

	stop, err := d.startDaemon(ctx)
	if err != nil {
		return err
	}
	defer stop()

	if err := d.releaseOne(ctx); err != nil {
		return err
	}
	lctx, lcancel := context.WithCancel(ctx)
	d.load = newLoadGen("http://"+d.prod+"/", o.rps)
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); d.load.run(lctx) }()
	defer func() { lcancel(); <-loadDone }()

	if err := d.releaseTwo(ctx); err != nil {
		return err
	}
	if err := d.releaseThree(ctx); err != nil {
		return err
	}
	lcancel()
	<-loadDone
	d.summary()
	return nil
}

// demoRuntime resolves --runtime auto by asking for an engine.
func demoRuntime(ctx context.Context, want, ws string) (string, error) {
	if want != "auto" {
		return want, nil
	}
	rt, err := runtime.Select(ctx, runtime.SelectOptions{Mode: runtime.ModeAuto, StateDir: filepath.Join(ws, "probe")})
	if err != nil {
		return "", err
	}
	return rt.Name(), nil
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

const demoBuildspec = `version: 0.2
phases:
  pre_build:
    commands:
      - go vet ./...
  build:
    commands:
      - echo "Building hello $CANARYFLOW_VERSION at $CODEBUILD_RESOLVED_SOURCE_VERSION"
`

const demoConfig = `# canaryflow.yaml written by canaryflow demo
service:
  name: hello
  container: {name: hello, port: 3000}
  desired_count: 1
  health_check: {path: /healthz, interval: 500ms, timeout: 400ms, healthy_threshold: 2, unhealthy_threshold: 2}
  listeners: {production_port: %d, test_port: %d}
  deployment_config: {type: TimeBasedCanary, percent: 10, interval: %d}
  termination_wait: 2s
  alarms: {period: 250ms, evaluation_periods: 3, datapoints_to_alarm: 2, min_requests: 5, error_rate_percent: 5}
  runtime: %s
pipeline:
  source: ../origin.git
  poll_interval: 200ms
  build: {image: go}
`

// makeRepo creates origin.git and hello/ with the service on main and
// develop, the way a team's repository starts.
func (d *demo) makeRepo(ctx context.Context, mode string, prodPort, testPort int) error {
	origin, dir := filepath.Join(d.ws, "origin.git"), filepath.Join(d.ws, "hello")
	ws := &git.Repo{Dir: d.ws}
	if _, err := ws.Run(ctx, "init", "--quiet", "--bare", "--", origin); err != nil {
		return err
	}
	if _, err := ws.Run(ctx, "init", "--quiet", "--", dir); err != nil {
		return err
	}
	d.repo = &git.Repo{Dir: dir, Env: []string{
		"GIT_AUTHOR_NAME=canaryflow demo", "GIT_AUTHOR_EMAIL=demo@canaryflow.invalid",
		"GIT_COMMITTER_NAME=canaryflow demo", "GIT_COMMITTER_EMAIL=demo@canaryflow.invalid",
	}}
	if _, err := d.repo.Run(ctx, "remote", "add", "origin", origin); err != nil {
		return err
	}
	files := map[string]string{
		"go.mod":          "module example.com/hello\n\ngo 1.26\n",
		".buildspec.yml":  demoBuildspec,
		"canaryflow.yaml": fmt.Sprintf(demoConfig, prodPort, testPort, int(d.o.canary.Seconds()), mode),
		".gitignore":      "/hello\n",
	}
	for _, name := range []string{"main.go", "VERSION", "Dockerfile"} {
		b, err := fs.ReadFile(examples.Hello, "hello/"+name)
		if err != nil {
			return err
		}
		files[name] = string(b)
	}
	files["VERSION"] = "0.0.0\n"
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	cfg, err := config.Load(dir, "")
	if err != nil {
		return err
	}
	d.flow, err = flow.New(d.repo, flow.OptionsFrom(cfg.Release), io.Discard)
	if err != nil {
		return err
	}
	if err := d.flow.Init(ctx); err != nil {
		return err
	}
	if err := d.repo.Commit(ctx, "chore: the hello service", "."); err != nil {
		return err
	}
	if _, err := d.repo.Run(ctx, "branch", "--force", "develop", "main"); err != nil {
		return err
	}
	_, err = d.repo.Run(ctx, "push", "--quiet", "origin", "main", "develop")
	return err
}

// startDaemon runs `canaryflow up` in this process.
func (d *demo) startDaemon(ctx context.Context) (stop func(), err error) {
	dir := filepath.Join(d.ws, "hello")
	cfg, err := config.Load(dir, "")
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(d.ws, "daemon.log"))
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan server.Info, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(dctx, server.Options{
			Config: cfg, StateDir: filepath.Join(d.ws, "state"), Dir: dir,
			APIAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0", StopTasksOnExit: true,
			Logger: slog.New(slog.NewTextHandler(logf, nil)), Ready: func(i server.Info) { ready <- i },
		})
	}()
	stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			fmt.Fprintln(d.out, "warning: the daemon did not stop within 30s")
		}
		logf.Close()
	}
	select {
	case info := <-ready:
		d.client = &server.Client{Addr: info.API, Token: info.Token}
		fmt.Fprintf(d.out, "  daemon      API %s, registry %s (log: daemon.log)\n\n", info.API, info.Registry)
		return stop, nil
	case err := <-done:
		logf.Close()
		cancel()
		return nil, fmt.Errorf("canaryflow up: %w", err)
	case <-ctx.Done():
		stop()
		return nil, ctx.Err()
	}
}

func (d *demo) say(format string, a ...any) { fmt.Fprintf(d.out, format+"\n", a...) }

// cmd shows a step as the command a person would type.
func (d *demo) cmd(line string) { d.say("  $ %s", line) }

// editMain applies a change to main.go and commits it.
func (d *demo) editMain(ctx context.Context, msg string, edits ...[2]string) error {
	path := filepath.Join(d.repo.Dir, "main.go")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	src := string(b)
	for _, e := range edits {
		if !strings.Contains(src, e[0]) {
			return fmt.Errorf("demo edit %q: main.go has no %q", msg, e[0])
		}
		src = strings.Replace(src, e[0], e[1], 1)
	}
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		return err
	}
	d.say("  (edit main.go; git commit -m %q)", msg)
	return d.repo.Commit(ctx, msg, "main.go")
}

// release cuts and finishes a release with the Gitflow commands and
// returns when the tag was pushed.
func (d *demo) release(ctx context.Context, version string) (time.Time, error) {
	if version == "" {
		d.cmd("canaryflow flow release start          # version from the Conventional Commits since the last tag")
	} else {
		d.cmd("canaryflow flow release start " + version)
	}
	if err := d.flow.ReleaseStart(ctx, flow.StartOptions{Version: version}); err != nil {
		return time.Time{}, err
	}
	cur, err := d.repo.CurrentBranch(ctx)
	if err != nil {
		return time.Time{}, err
	}
	d.cmd("canaryflow flow release finish --push   # merge to main, tag v" + strings.TrimPrefix(cur, "release/") + ", back-merge, push")
	if err := d.flow.ReleaseFinish(ctx, flow.FinishOptions{Push: true}); err != nil {
		return time.Time{}, err
	}
	return time.Now(), nil
}

func (d *demo) releaseOne(ctx context.Context) error {
	d.say("① Release v1.0.0 — the first deployment")
	pushed, err := d.release(ctx, "1.0.0")
	if err != nil {
		return err
	}
	e, err := d.follow(ctx, "v1.0.0", pushed, "")
	if err != nil {
		return err
	}
	d.rows = append(d.rows, demoRow{tag: "v1.0.0", outcome: outcome(e)})
	if e.Status != pipeline.Succeeded {
		return fmt.Errorf("v1.0.0 did not deploy: %s (see daemon.log, or run with --keep)", e.Error)
	}
	d.say("  production answers: %s\n", d.get())
	return nil
}

func (d *demo) releaseTwo(ctx context.Context) error {
	d.say("② A feature, then v1.1.0 — a 10%% canary, then 100%%, under load (%d rps)", d.o.rps)
	d.cmd("canaryflow flow feature start greeting")
	if err := d.flow.FeatureStart(ctx, "greeting"); err != nil {
		return err
	}
	if err := d.editMain(ctx, "feat: add GET /greet", [2]string{`	mux.HandleFunc("GET /healthz"`,
		"\tmux.HandleFunc(\"GET /greet\", func(w http.ResponseWriter, r *http.Request) {\n\t\tio.WriteString(w, \"Hello from canaryflow\\n\")\n\t})\n\tmux.HandleFunc(\"GET /healthz\""}); err != nil {
		return err
	}
	d.cmd("canaryflow flow feature finish")
	if err := d.flow.FeatureFinish(ctx, "greeting", false); err != nil {
		return err
	}
	pushed, err := d.release(ctx, "")
	if err != nil {
		return err
	}
	e, err := d.follow(ctx, "v1.1.0", pushed, "1.1.0")
	if err != nil {
		return err
	}
	row := demoRow{tag: "v1.1.0", outcome: outcome(e)}
	if first := d.load.firstSeen("1.1.0"); !first.IsZero() {
		row.tagToCanary = first.Sub(pushed)
	}
	d.rows = append(d.rows, row)
	if e.Status != pipeline.Succeeded {
		return fmt.Errorf("v1.1.0 did not deploy: %s (see daemon.log, or run with --keep)", e.Error)
	}
	d.say("  production answers: %s\n", d.get())
	return nil
}

func (d *demo) releaseThree(ctx context.Context) error {
	d.say("③ v1.2.0 — a release with a bug: its error rate climbs and the alarm rolls it back")
	d.cmd("canaryflow flow feature start fast-path")
	if err := d.flow.FeatureStart(ctx, "fast-path"); err != nil {
		return err
	}
	if err := d.editMain(ctx, "feat: a faster path for GET /",
		[2]string{"\t\"os/signal\"\n", "\t\"os/signal\"\n\t\"sync/atomic\"\n"},
		[2]string{"// version is stamped", "// calls counts requests to GET / (the bug below).\nvar calls atomic.Int64\n\n// version is stamped"},
		[2]string{"\t\tfmt.Fprintf(w, \"Version: %s\\n\", ver)", "\t\tif calls.Add(1)%2 == 0 { // the bug: every other request fails\n\t\t\thttp.Error(w, \"internal error\", http.StatusInternalServerError)\n\t\t\treturn\n\t\t}\n\t\tfmt.Fprintf(w, \"Version: %s\\n\", ver)"},
	); err != nil {
		return err
	}
	d.cmd("canaryflow flow feature finish")
	if err := d.flow.FeatureFinish(ctx, "fast-path", false); err != nil {
		return err
	}
	pushed, err := d.release(ctx, "")
	if err != nil {
		return err
	}
	e, err := d.follow(ctx, "v1.2.0", pushed, "1.2.0")
	if err != nil {
		return err
	}
	row := demoRow{tag: "v1.2.0", outcome: outcome(e)}
	if first := d.load.firstSeen("1.2.0"); !first.IsZero() {
		row.tagToCanary = first.Sub(pushed)
	}
	fault, last := d.load.firstFault("1.2.0"), d.load.lastSeen("1.2.0")
	if !fault.IsZero() && !last.IsZero() {
		row.faultRollback = last.Sub(fault)
	}
	d.rows = append(d.rows, row)
	if e.Status == pipeline.Succeeded {
		return errors.New("v1.2.0 was not rolled back: the alarm did not fire (see daemon.log, or run with --keep)")
	}
	d.say("  production answers: %s (v1.2.0 rolled back; 1.1.0 kept serving)\n", d.get())
	return nil
}

// get returns what production answers, for the narrative.
func (d *demo) get() string {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + d.prod + "/")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return strings.TrimSpace(string(b))
}

// follow prints the execution of tag as it moves, with the live traffic
// view while the load generator runs, until it ends.
func (d *demo) follow(ctx context.Context, tag string, pushed time.Time, green string) (*pipeline.Execution, error) {
	var e *pipeline.Execution
	lastStage, lastPrint := "", time.Time{}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: the pipeline did not finish within 3 minutes (see daemon.log)", tag)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		es, err := d.client.Executions(ctx)
		if err != nil {
			return nil, err
		}
		e = nil
		for i := range es {
			if es[i].Tag == tag {
				e = &es[i]
				break
			}
		}
		if e == nil {
			continue
		}
		stage := stagesLine(*e)
		if stage != lastStage {
			d.endLive()
			d.say("  pipeline %s %s  %s", e.ID, tag, stage)
			lastStage = stage
		}
		if d.load != nil && e.DeploymentID != "" && time.Since(lastPrint) >= d.liveEvery() {
			d.live(ctx, pushed, e.DeploymentID)
			lastPrint = time.Now()
		}
		if e.Status.Done() {
			d.endLive()
			if e.Error != "" {
				d.say("  %s: %s", e.Status, e.Error)
			}
			return e, nil
		}
	}
}

func (d *demo) liveEvery() time.Duration {
	if d.tty {
		return 250 * time.Millisecond
	}
	return time.Second
}

// live prints one line of the traffic view: the router's weight, what the
// load generator saw in the last second, and the deployment's step.
func (d *demo) live(ctx context.Context, since time.Time, id string) {
	st, err := d.client.Status(ctx)
	if err != nil {
		return
	}
	step := ""
	if v, err := d.client.Get(ctx, id); err == nil {
		step = v.Deployment.Step
		if v.Deployment.Done() {
			step = v.Deployment.Status
		}
	}
	split, rps, errPct := d.load.window()
	line := fmt.Sprintf("  %5.1fs [%s] green %5.1f%% │ %s │ %3d rps, errors %4.1f%% │ %s",
		time.Since(since).Seconds(), bar(st.Traffic.GreenPercent, 20), st.Traffic.GreenPercent, split, rps, errPct, step)
	if d.tty {
		fmt.Fprintf(d.out, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(d.out, line)
	}
}

// endLive ends a redrawn line before ordinary output.
func (d *demo) endLive() {
	if d.tty {
		fmt.Fprint(d.out, "\r\033[K")
	}
}

func outcome(e *pipeline.Execution) string {
	if e.Status == pipeline.Succeeded {
		return "deployed"
	}
	if strings.Contains(e.Error, "Deploy stage") {
		return "rolled back (" + string(e.Status) + ")"
	}
	return string(e.Status)
}

func (d *demo) summary() {
	d.say("Summary")
	d.say("  %-8s %-22s %-14s %s", "release", "outcome", "tag → canary", "fault → rollback")
	for _, r := range d.rows {
		d.say("  %-8s %-22s %-14s %s", r.tag, r.outcome, ms(r.tagToCanary), ms(r.faultRollback))
	}
	tot := d.load.totals()
	var parts []string
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "?"} {
		if t, ok := tot[v]; ok {
			parts = append(parts, fmt.Sprintf("%s %d requests, %d errors", v, t.requests, t.errors))
		}
	}
	d.say("  load: %s", strings.Join(parts, "; "))
	d.say("  tag → canary: from the tag pushed to the first answer of the new version through the production listener")
	d.say("  fault → rollback: from the first 5xx of v1.2.0 to its last answer (all traffic back on v1.1.0)")
	d.say("  total time: %s", time.Since(d.start).Round(100*time.Millisecond))
}

func ms(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return d.Round(10 * time.Millisecond).String()
}
