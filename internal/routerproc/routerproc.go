// Package routerproc runs the daemon's router as a process of its own, as
// an ALB runs apart from CodeDeploy: the daemon starts canaryflow-proxy in
// managed mode (--state-dir) the first time, and every later daemon
// adopts the one that runs, through its admin socket. The router keeps
// serving while the daemon is killed, restarted or upgraded, and keeps its
// target groups, targets and routing in its own state file.
package routerproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/proxycmd"
	"github.com/canaryflow/canaryflow/internal/router"
)

// Spec is the router a daemon wants.
type Spec struct {
	// Dir holds the router's state, socket, token and log.
	Dir string
	// Listen and TestListen are the production and test listeners
	// (host:port).
	Listen, TestListen string
	// HealthCheck configures the targets' active health checks.
	HealthCheck router.HealthCheck
	// DeregistrationDelay bounds a removed target's drain. Zero: 10 s.
	DeregistrationDelay time.Duration
	// PinHeader and PinSecret enable pinning (see router.Options); the
	// secret reaches the router through its environment only.
	PinHeader, PinSecret string
	// Command starts the router; the managed-mode flags are added to it.
	// Zero: canaryflow-proxy beside the running executable, else the
	// executable's own `proxy` command (see DefaultCommand).
	Command []string
	// Env is added to the router's environment.
	Env []string
	// StartTimeout bounds the wait for a started router to serve. Zero:
	// 15 s.
	StartTimeout time.Duration
	// Logger receives what happens. Zero: discarded.
	Logger *slog.Logger
}

// Router is a running router the daemon drives.
type Router struct {
	*router.AdminClient
	// Info is what the router process says about itself.
	Info proxycmd.ProcessInfo
	// Adopted is true when the router was already running.
	Adopted bool
	logger  *slog.Logger
}

// Ensure returns the router running for spec.Dir, adopting it when it
// listens where spec says, and starting one otherwise. A router that runs
// on other addresses is stopped first: its listeners change with a new
// canaryflow.yaml, and the new ones cannot open while it holds the old.
func Ensure(ctx context.Context, spec Spec) (*Router, error) {
	log := spec.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(spec.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("router state directory: %w", err)
	}
	args := spec.args()
	if r, err := adopt(ctx, spec.Dir, log); err == nil {
		if r.Info.Listen == spec.Listen && r.Info.TestListen == spec.TestListen {
			log.Info("router adopted", "pid", r.Info.PID, "listen", r.Info.Listen, "test", r.Info.TestListen)
			why := ""
			switch {
			case !sameFlags(r.Info.Args, args):
				why = "it runs with other settings (" + strings.Join(r.Info.Args, " ") + ")"
			case r.upgraded():
				why = "its binary " + r.Info.Executable + " was replaced since it started"
			}
			if why != "" {
				log.Info("router: handing over to a new router process without dropping a request", "why", why)
				if err := r.Handover(ctx, args); err != nil {
					log.Error("router handover failed; the running router keeps serving with its settings", "err", err)
				}
			}
			return r, nil
		}
		log.Warn("router listens elsewhere than canaryflow.yaml says: replacing it",
			"pid", r.Info.PID, "listen", r.Info.Listen, "want", spec.Listen, "test", r.Info.TestListen, "wantTest", spec.TestListen)
		if err := r.Stop(ctx); err != nil {
			return nil, err
		}
	}
	return start(ctx, spec, args, log)
}

// sameFlags reports whether two "--name", "value" lists set the same
// flags to the same values, in whatever order.
func sameFlags(a, b []string) bool {
	pairs := func(l []string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(l); i += 2 {
			m[l[i]] = l[i+1]
		}
		return m
	}
	return maps.Equal(pairs(a), pairs(b))
}

// adopt connects to the router serving in dir.
func adopt(ctx context.Context, dir string, logger *slog.Logger) (*Router, error) {
	token, err := os.ReadFile(filepath.Join(dir, proxycmd.TokenFile))
	if err != nil {
		return nil, err
	}
	sock, err := proxycmd.SocketPathFor(dir)
	if err != nil {
		return nil, err
	}
	c := router.NewAdminClient("unix:"+sock, strings.TrimSpace(string(token)))
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	r := &Router{AdminClient: c, Adopted: true, logger: logger}
	if err := c.Get(cctx, "/process", &r.Info); err != nil {
		c.Close()
		return nil, err
	}
	return r, nil
}

// LogFile is the router's log in its directory, rotated by the router at
// proxycmd.LogFileMax (the one before is LogFile.1).
const LogFile = "router.log"

// args are the managed-mode flags for spec, without the ready pipe.
func (spec Spec) args() []string {
	hc := spec.HealthCheck
	delay := spec.DeregistrationDelay
	if delay == 0 {
		delay = 10 * time.Second
	}
	a := []string{"--state-dir", spec.Dir, "--log-file", filepath.Join(spec.Dir, LogFile), "--listen", spec.Listen}
	if spec.TestListen != "" {
		a = append(a, "--test-listen", spec.TestListen)
	}
	if hc.Path != "" {
		a = append(a, "--health-path", hc.Path, "--health-interval", hc.Interval.String(), "--health-timeout", hc.Timeout.String(),
			"--healthy-threshold", strconv.Itoa(hc.HealthyThreshold), "--unhealthy-threshold", strconv.Itoa(hc.UnhealthyThreshold))
		if hc.SuccessCodes != "" {
			a = append(a, "--success-codes", hc.SuccessCodes)
		}
	}
	a = append(a, "--deregistration-delay", delay.String())
	if spec.PinHeader != "" {
		a = append(a, "--pin-header", spec.PinHeader)
	}
	return a
}

// start starts a router and waits until it serves.
func start(ctx context.Context, spec Spec, args []string, log *slog.Logger) (*Router, error) {
	command, env := spec.Command, spec.Env
	if len(command) == 0 {
		var err error
		if command, env, err = DefaultCommand(); err != nil {
			return nil, err
		}
		env = append(env, spec.Env...)
	}
	logPath := filepath.Join(spec.Dir, LogFile) // what the router writes before its log opens, and if it crashes
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("router log: %w", err)
	}
	defer logf.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	cmd := exec.Command(command[0], slices.Concat(command[1:], args, []string{"--ready-fd", "3"})...)
	cmd.Env = append(routerEnv(os.Environ()), env...)
	if spec.PinSecret != "" {
		cmd.Env = append(cmd.Env, router.PinSecretEnv+"="+spec.PinSecret)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{pw}
	// A session of its own: a Ctrl-C meant for `canaryflow up` in a
	// terminal does not reach the router, which is to outlive it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = spec.Dir
	if err := cmd.Start(); err != nil {
		pw.Close()
		return nil, fmt.Errorf("start router %s: %w", command[0], err)
	}
	pw.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		ready <- line == "ready\n"
	}()
	timeout := spec.StartTimeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	fail := func(why string) error {
		_ = cmd.Process.Kill()
		return fmt.Errorf("router did not start: %s; its log %s ends:\n%s", why, logPath, tail(logPath, 20))
	}
	select {
	case ok := <-ready:
		if !ok {
			<-exited
			return nil, fail("it exited")
		}
	case <-timer.C:
		return nil, fail(fmt.Sprintf("not serving after %s", timeout))
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return nil, ctx.Err()
	}
	r, err := adopt(ctx, spec.Dir, log)
	if err != nil {
		return nil, fail(err.Error())
	}
	r.Adopted = false
	log.Info("router started", "pid", r.Info.PID, "listen", r.Info.Listen, "test", r.Info.TestListen, "log", logPath)
	return r, nil
}

// upgraded reports whether the router's executable file is newer than
// the router process.
func (r *Router) upgraded() bool {
	fi, err := os.Stat(r.Info.Executable)
	return err == nil && fi.ModTime().After(r.Info.Started)
}

// Handover replaces the router process by a new one started with args
// (its own executable, as it is on disk now), without dropping a request:
// the listening sockets pass to the new process (see proxycmd's
// handover). The old one drains and exits.
func (r *Router) Handover(ctx context.Context, args []string) error {
	var resp proxycmd.HandoverResponse
	if err := r.Post(ctx, "/handover", proxycmd.HandoverRequest{Args: args}, &resp); err != nil {
		return err
	}
	r.Close() // no kept connection to the old process: the next request reaches the new one
	old := r.Info.PID
	var info proxycmd.ProcessInfo
	if err := r.Get(ctx, "/process", &info); err != nil {
		return err
	}
	r.Info = info
	r.log().Info("router handed over", "from", old, "to", resp.PID)
	return nil
}

func (r *Router) log() *slog.Logger {
	if r.logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.logger
}

// Supervise starts the router again, from its saved state, whenever it
// stops answering on its admin socket twice in a row, until ctx is done:
// the daemon keeps its data plane up as ECS keeps a service's tasks. The
// new process has the same socket and token, so r and every user of its
// client carry on.
func (r *Router) Supervise(ctx context.Context, spec Spec, every time.Duration) {
	log := spec.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	misses := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cctx, cancel := context.WithTimeout(ctx, every)
		var info proxycmd.ProcessInfo
		err := r.Get(cctx, "/process", &info)
		cancel()
		if err == nil || ctx.Err() != nil {
			misses = 0
			continue
		}
		if misses++; misses < 2 {
			continue
		}
		log.Error("router not answering: starting it again from its saved state", "err", err)
		started, err := Ensure(ctx, spec)
		if err != nil {
			log.Error("router restart failed; trying again", "err", err)
			continue
		}
		started.Close()
		misses = 0
	}
}

// Stop ends the router process: SIGTERM, then its drain (at most the
// deregistration delay plus a margin), then SIGKILL.
func (r *Router) Stop(ctx context.Context) error {
	defer r.Close()
	// The router may have been started again since r was made.
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	var info proxycmd.ProcessInfo
	if err := r.Get(cctx, "/process", &info); err == nil {
		r.Info = info
	}
	cancel()
	p, err := os.FindProcess(r.Info.PID)
	if err != nil {
		return err
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return nil // gone already
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if p.Signal(syscall.Signal(0)) != nil || zombie(r.Info.PID) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = p.Kill()
	return nil
}

// zombie reports whether pid has exited but not been reaped (a router this
// process started and whose Wait has not run yet).
func zombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// routerEnv keeps of the daemon's environment only what the router needs:
// it never sees the daemon's tokens, webhook secret or cloud credentials.
// (The pin secret is added on its own; CANARYFLOW_TEST_* marks the
// processes of a test run.)
func routerEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case slices.Contains([]string{"PATH", "HOME", "TMPDIR", "XDG_RUNTIME_DIR", "XDG_STATE_HOME", "LANG", "LC_ALL", "TZ",
			"GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS", "CANARYFLOW_STATE_DIR", childEnv}, name),
			strings.HasPrefix(name, "CANARYFLOW_TEST_"):
			out = append(out, kv)
		}
	}
	return out
}

// tail returns the last n lines of a file, for an error message.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return "  " + strings.Join(lines[max(0, len(lines)-n):], "\n  ")
}

// childEnv marks a test binary started as the router (see ServeIfChild).
const childEnv = "CANARYFLOW_ROUTER_CHILD"

// DefaultCommand is how a daemon starts its router: canaryflow-proxy
// beside the running executable (symbolic links resolved), else the
// executable's own `proxy` command served in-process. A test binary runs
// itself, with the environment that makes ServeIfChild serve.
func DefaultCommand() (command, env []string, err error) {
	if testing.Testing() {
		exe, err := os.Executable()
		if err != nil {
			return nil, nil, err
		}
		return []string{exe}, []string{childEnv + "=1"}, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("find the router: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	sibling := filepath.Join(filepath.Dir(exe), proxycmd.Name)
	if fi, err := os.Stat(sibling); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
		return []string{sibling}, nil, nil
	}
	return []string{exe, "proxy"}, []string{proxycmd.InProcessEnv + "=1"}, nil
}

// ServeIfChild serves the router and exits when this test binary was
// started as one (see DefaultCommand); otherwise it returns at once. Test
// binaries whose tests start daemons call it first thing in TestMain.
func ServeIfChild() {
	if os.Getenv(childEnv) != "1" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := proxycmd.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// ErrNotRunning is returned by Find when no router serves the directory.
var ErrNotRunning = errors.New("no router running")

// Find returns the router serving dir, if one does.
func Find(ctx context.Context, dir string) (*Router, error) {
	r, err := adopt(ctx, dir, nil)
	if err != nil {
		return nil, fmt.Errorf("%w in %s: %v", ErrNotRunning, dir, err)
	}
	return r, nil
}
