// Package demo is canaryflow's scripted demo: the release guide run end
// to end on this machine, in a temporary workspace. A repository for
// examples/hello gets three Gitflow releases; the local stack (registry,
// runtime, router, deployment controller, pipeline) builds and deploys each
// tag; a built-in load generator shows the canary's live split and error
// rate; the third release carries a bug the alarm rolls back. It is a
// product of its own, not CLI plumbing: `canaryflow demo` only parses its
// flags into Options and calls Run.
package demo

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/canaryflow/canaryflow/internal/flow"
	"github.com/canaryflow/canaryflow/internal/git"
	"github.com/canaryflow/canaryflow/internal/runtime"
	"github.com/canaryflow/canaryflow/internal/server"
)

// Options tune a run of the demo. The zero value is not valid: Runtime,
// RPS and Canary must be set (the CLI's defaults are auto, 200 and 10s).
type Options struct {
	// Keep keeps the workspace (repository, state, logs) afterwards.
	Keep bool
	// Runtime runs the tasks: "auto" (docker when an engine answers),
	// "docker" or "process".
	Runtime string
	// RPS is the load generator's request rate on the production
	// listener, 20 to 5000.
	RPS int
	// Dir is the parent of the workspace; empty means the system's temp dir.
	Dir string
	// Canary is how long the 10% canary bakes before the rest of the
	// traffic moves, 2s to 10m.
	Canary time.Duration
	// Redraw redraws the live traffic line in place (out is a terminal);
	// false prints one line per update.
	Redraw bool
	// Hook is the command the protected origin's pre-receive hook runs as
	// canaryflow, its absolute path first; nil means this executable.
	Hook []string
}

// Validate reports the first option out of range, in the words of the
// command's flags.
func (o Options) Validate() error {
	switch o.Runtime {
	case "auto", "docker", "process":
	default:
		return fmt.Errorf("--runtime %q: want auto, docker or process", o.Runtime)
	}
	if o.RPS < 20 || o.RPS > 5000 {
		return fmt.Errorf("--rps %d: want 20 to 5000", o.RPS)
	}
	if o.Canary < 2*time.Second || o.Canary > 10*time.Minute {
		return fmt.Errorf("--canary %s: want 2s to 10m", o.Canary)
	}
	return nil
}

// session is one run of the demo.
type session struct {
	o      Options
	out    io.Writer
	tty    bool
	ws     string
	repo   *git.Repo
	flow   *flow.Flow
	client *server.Client
	reg    string // the daemon's registry, host:port
	prod   string
	load   *loadGen
	start  time.Time
	rows   []row
}

// row is one release in the summary.
type row struct {
	tag, outcome  string
	tagToCanary   time.Duration // zero when not measured
	faultRollback time.Duration
}

// Run runs the demo in a new workspace under o.Dir, narrating to out, and
// removes the workspace afterwards unless o.Keep. It returns an error when a
// step fails or a release does not end as the guide says it should (v1.0.0
// and v1.1.0 deployed, v1.2.0 rolled back).
func Run(ctx context.Context, o Options, out io.Writer) (err error) {
	if err := o.Validate(); err != nil {
		return err
	}
	d := &session{o: o, out: out, start: time.Now()}
	d.tty = o.Redraw
	d.ws, err = os.MkdirTemp(o.Dir, "canaryflow-demo-")
	if err != nil {
		return fmt.Errorf("demo workspace: %w", err)
	}
	defer func() {
		if o.Keep {
			fmt.Fprintf(out, "\nWorkspace kept: %s (repository in hello/, daemon log in daemon.log)\n", d.ws)
			return
		}
		os.RemoveAll(d.ws)
	}()
	fmt.Fprintf(out, "canaryflow demo — the release guide, end to end, on this machine\n\n")

	mode, err := pickRuntime(ctx, o.Runtime, d.ws)
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
	fmt.Fprintf(out, "  workspace   %s%s\n", d.ws, map[bool]string{true: "", false: "  (removed at the end; --keep keeps it)"}[o.Keep])
	fmt.Fprintf(out, "  runtime     %s\n", mode)
	fmt.Fprintf(out, "  listeners   production %s, test 127.0.0.1:%d\n", d.prod, ports[1])
	fmt.Fprintf(out, "  canary      10%% for %s, then 100%%; alarm: 5xx ≥ 5%% in 2 of 3 periods of 250ms\n\n", o.Canary)
	if err := d.protectOrigin(ctx); err != nil {
		return fmt.Errorf("demo origin protection: %w", err)
	}

	stop, err := d.startDaemon(ctx)
	if err != nil {
		return err
	}
	if mode == runtime.ModeDocker && !o.Keep {
		// After the daemon stopped its tasks: the images they pulled
		// into the engine belong to a registry that is going away.
		defer func() {
			if _, err := runtime.RemoveImages(context.WithoutCancel(ctx), d.reg); err != nil {
				fmt.Fprintf(out, "warning: %v\n", err)
			}
		}()
	}
	defer stop()

	if err := d.releaseOne(ctx); err != nil {
		return err
	}
	lctx, lcancel := context.WithCancel(ctx)
	d.load = newLoadGen("http://"+d.prod+"/", o.RPS)
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

// pickRuntime resolves --runtime auto by asking for an engine.
func pickRuntime(ctx context.Context, want, ws string) (string, error) {
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
