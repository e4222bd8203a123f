// Package server is canaryflow's local daemon (`canaryflow up`): the
// control plane. It wires the task runtime, the image registry, the
// deployment controller, the pipeline and a JSON API together, and drives
// the data plane, a router process of its own (see routerproc), through
// the router's admin socket.
//
// It is wiring only: it builds those parts from the configuration and
// connects them. It holds no deployment logic and no registry or Docker
// client code: "deploy this image" is package release, called the same
// way by the API and the pipeline's Deploy stage; deployments are package
// deploy; images are built and pushed by package build.
//
// The router outlives the daemon: a daemon that crashes, restarts or is
// upgraded leaves the listeners serving, and the next one adopts the
// router, restores what the store says (tasks adopted or restarted) and
// resumes the deployments in flight.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/dashboard"
	"github.com/canaryflow/canaryflow/internal/deploy"
	eventstream "github.com/canaryflow/canaryflow/internal/events"
	"github.com/canaryflow/canaryflow/internal/loopback"
	"github.com/canaryflow/canaryflow/internal/metrics"
	"github.com/canaryflow/canaryflow/internal/notify"
	"github.com/canaryflow/canaryflow/internal/registry"
	"github.com/canaryflow/canaryflow/internal/router"
	"github.com/canaryflow/canaryflow/internal/routerproc"
	"github.com/canaryflow/canaryflow/internal/runtime"
	"github.com/canaryflow/canaryflow/internal/store"
)

// DefaultAPIAddr is where the API listens unless told otherwise.
const DefaultAPIAddr = "127.0.0.1:7070"

// InfoFile is written into the state directory while the daemon runs, so
// the CLI finds its API address and token.
const InfoFile = "daemon.json"

// Info is the content of InfoFile.
type Info struct {
	API      string `json:"api"`
	Token    string `json:"token,omitempty"`
	PID      int    `json:"pid"`
	Registry string `json:"registry,omitempty"`
}

// Options configure the daemon. Config (with a service section) and
// StateDir are required.
type Options struct {
	Config   *config.Config
	StateDir string
	// Dir is the repository root: hooks run there. Zero: the current directory.
	Dir string
	// APIAddr is the API's listen address. Zero: DefaultAPIAddr. Binding
	// anything but loopback requires Token.
	APIAddr string
	// APIHosts are more Host header values the API accepts ("name" or
	// "name:port"), for a daemon reached by a name. Zero: only the address
	// it listens on, and loopback names and addresses at its port.
	APIHosts []string
	// Token is the bearer token every API request needs. Zero: the token
	// in TokenFile of the state directory, created on the first start.
	Token string
	// ReadTimeout bounds reading one API request, headers and body.
	// Zero: one minute.
	ReadTimeout time.Duration
	// RegistryAddr serves the embedded registry; "-" disables it. Zero:
	// 127.0.0.1:5055.
	RegistryAddr string
	// Runtime overrides the runtime the configuration names (tests).
	Runtime runtime.Runtime
	// StopTasksOnExit stops every task and the router process on
	// shutdown. Zero leaves them running for the next daemon to adopt, as
	// ECS keeps tasks through an agent restart and an ALB keeps serving.
	StopTasksOnExit bool
	// RouterCommand starts the router process (see routerproc.Spec).
	// Zero: canaryflow-proxy beside the executable, else its `proxy`.
	RouterCommand []string
	// Clock times the deployments' waits (canary intervals, ready and
	// termination waits, alarm periods). Zero: the system clock. Tests
	// give a clock they can move forward.
	Clock deploy.Clock
	// SampleInterval is how often the dashboard's charts read the router
	// while a deployment runs. Zero: 1s.
	SampleInterval time.Duration
	// Logger receives structured logs. Zero: discarded.
	Logger *slog.Logger
	// Ready, if set, is called once everything listens.
	Ready func(Info)
	// Getenv reads the webhook secret and the build's secret variables.
	// Zero: os.Getenv.
	Getenv func(string) string
	// Reload delivers canaryflow.yaml read again (the CLI reads it on
	// SIGHUP): the settings that can change live do, the others are
	// reported as needing a restart. Zero: the configuration never changes.
	Reload <-chan Reload
	// Reloaded, if set, is told what each reload did.
	Reloaded func(ReloadResult)
}

// Validate reports options that cannot work.
func (o *Options) Validate() error {
	if o.Config == nil || o.Config.Service == nil {
		return errors.New("server: canaryflow.yaml has no service section (run `canaryflow init`)")
	}
	if o.StateDir == "" {
		return errors.New("server: a state directory is required")
	}
	addr := o.APIAddr
	if addr == "" {
		addr = DefaultAPIAddr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("server: API address %q: %w", addr, err)
	}
	if !loopback.IsHost(host) && o.Token == "" {
		return fmt.Errorf("server: API address %q is not loopback: a token is required (--token or CANARYFLOW_TOKEN)", addr)
	}
	for _, h := range o.APIHosts {
		if h == "" || strings.ContainsAny(h, " \t/@?#") {
			return fmt.Errorf("server: API host %q: want a name or name:port", h)
		}
	}
	return nil
}

// Run serves until ctx is done, then shuts down gracefully.
func Run(ctx context.Context, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	svc := opts.Config.Service
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	st, err := store.Open(filepath.Join(opts.StateDir, "canaryflow.db"), store.Options{})
	if errors.Is(err, store.ErrLocked) {
		return alreadyRunning(opts.StateDir)
	}
	if err != nil {
		return err
	}
	defer st.Close()

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	token := opts.Token
	if token == "" {
		if token, err = LoadOrCreateToken(opts.StateDir); err != nil {
			return err
		}
	}
	info := Info{PID: os.Getpid(), Token: token}
	regToken := ""
	var reg *registry.Registry
	if opts.RegistryAddr != "-" {
		// The lifecycle rule counts every runtime's tasks as users of an
		// image, not only this daemon's: `task run` holds an image too.
		processDir := filepath.Join(opts.StateDir, "process")
		reg, err = registry.New(registry.Options{Dir: filepath.Join(opts.StateDir, "registry"), Logger: log.With("component", "registry"),
			KeepLast: svc.KeepImages,
			InUse: func(ctx context.Context) (map[string]bool, error) {
				return runtime.ImagesInUse(ctx, processDir, regToken)
			}})
		if err != nil {
			return err
		}
		regToken = reg.Token()
		addr := opts.RegistryAddr
		if addr == "" {
			addr = "127.0.0.1:5055"
		}
		ln, err := registry.Listen(addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			// As documented for --registry-addr: a busy port falls back to
			// a free one; clients find it in daemon.json.
			log.Warn("registry port busy; serving on a free port", "busy", addr)
			ln, err = registry.Listen("127.0.0.1:0")
		}
		if err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		info.Registry = ln.Addr().String()
		wg.Add(1)
		go func() { defer wg.Done(); _ = reg.Serve(ctx, ln) }()
	}

	rtm := opts.Runtime
	if rtm == nil {
		rtm, err = runtime.Select(ctx, runtime.SelectOptions{Mode: svc.Runtime, StateDir: filepath.Join(opts.StateDir, "process"),
			RegistryToken: regToken, RegistryHost: info.Registry, Logger: log.With("component", "runtime")})
		if err != nil {
			return err
		}
	}
	hc := svc.HealthCheck
	pinName, pinSecret, err := pinOptions(svc.PinHeader, opts.Getenv)
	if err != nil {
		return err
	}
	rspec := routerproc.Spec{
		Dir:        filepath.Join(opts.StateDir, "router"),
		Listen:     net.JoinHostPort("127.0.0.1", strconv.Itoa(svc.Listeners.ProductionPort)),
		TestListen: net.JoinHostPort("127.0.0.1", strconv.Itoa(svc.Listeners.TestPort)),
		PinHeader:  pinName, PinSecret: pinSecret,
		HealthCheck: router.HealthCheck{Path: hc.Path, Interval: hc.Interval.D(), Timeout: hc.Timeout.D(),
			HealthyThreshold: hc.HealthyThreshold, UnhealthyThreshold: hc.UnhealthyThreshold, SuccessCodes: hc.SuccessCodes},
		DeregistrationDelay: 10 * time.Second,
		Command:             opts.RouterCommand,
		Logger:              log.With("component", "router"),
	}
	rt, err := routerproc.Ensure(ctx, rspec)
	if err != nil {
		return err
	}
	defer rt.Close()
	wg.Add(1)
	go func() { defer wg.Done(); rt.Supervise(ctx, rspec, time.Second) }()
	if opts.StopTasksOnExit {
		defer func() {
			if err := rt.Stop(context.WithoutCancel(ctx)); err != nil {
				log.Warn("stop router", "err", err)
			}
		}()
	}
	traffic := routerTraffic{rt: rt.AdminClient}
	tasks := &runtimeTasks{rt: rtm}
	ctl, err := deploy.New(deploy.Options{
		Store: st, Traffic: traffic, Runtime: tasks,
		Hooks: &deploy.HookExecutor{Dir: opts.Dir, Output: logWriter{log.With("component", "hook")}, Env: []string{
			fmt.Sprintf("CANARYFLOW_TEST_URL=http://127.0.0.1:%d/", svc.Listeners.TestPort),
			fmt.Sprintf("CANARYFLOW_PRODUCTION_URL=http://127.0.0.1:%d/", svc.Listeners.ProductionPort),
		}},
		Clock:  opts.Clock,
		Logger: log.With("component", "deploy"),
	})
	if err != nil {
		return err
	}
	// The router kept serving while no daemon ran; Restore brings it to
	// what the store says (a router started afresh gets its groups back)
	// and adopts or restarts the tasks.
	if err := ctl.Restore(ctx); err != nil {
		return err
	}
	if err := ctl.Start(ctx); err != nil {
		return err
	}
	defer ctl.Close()

	apiAddr := opts.APIAddr
	if apiAddr == "" {
		apiAddr = DefaultAPIAddr
	}
	apiLn, err := net.Listen("tcp", apiAddr)
	if err != nil {
		return fmt.Errorf("API listener: %w", err)
	}
	rel, err := newReleaser(ctl, svc, reg, info.Registry)
	if err != nil {
		return err
	}
	reload := newReloader(opts.Config, rel, opts.Reloaded, log.With("component", "config"))
	wg.Add(1)
	go func() { defer wg.Done(); reload.run(ctx, opts.Reload) }()
	api := &api{rel: rel, ctl: ctl, service: svc.Name, rt: rt.AdminClient, config: reload, log: log.With("component", "api"), reg: reg}
	routes := api.routes()
	bus := eventstream.NewBus(0, nil)
	routes.Handle("GET /v1/events", &eventstream.Handler{Bus: bus, Done: ctx.Done()})
	var pipe *localPipeline
	if opts.Config.Pipeline != nil {
		pipe, err = newPipeline(ctx, pipelineDeps{cfg: opts.Config, dir: opts.Dir, stateDir: opts.StateDir, st: st, rel: rel,
			reg: reg, regHost: info.Registry, regToken: regToken, getenv: opts.Getenv, log: log})
		if err != nil {
			return err
		}
		pipe.register(routes)
	} else {
		routes.HandleFunc("/v1/executions", noPipeline)
		routes.HandleFunc("/v1/executions/", noPipeline)
	}
	feed := eventstream.Source{Logger: log.With("component", "events"),
		Deployments:        func() ([]deploy.Deployment, error) { return ctl.List("") },
		DeploymentsChanged: func() <-chan struct{} { return st.Changed(store.Deployments) }}
	scrape := metrics.Source{Router: rt.AdminClient.Snapshot, Services: ctl.Services, Revision: ctl.Revision,
		Deployments: func() ([]deploy.Deployment, error) { return ctl.List("") }, Logger: log.With("component", "metrics")}
	if pipe != nil {
		feed.Executions, scrape.Executions = pipe.execs.List, pipe.execs.List
		feed.ExecutionsChanged = func() <-chan struct{} { return st.Changed(store.Executions) }
	}
	routes.Handle("GET /metrics", metrics.Handler(scrape))
	sampler := &metrics.Sampler{Router: scrape.Router, Deployments: scrape.Deployments, Revision: ctl.Revision,
		Interval: opts.SampleInterval, Logger: scrape.Logger, Publish: func(s metrics.Sample) { _, _ = bus.Publish(eventstream.TypeSample, s) }}
	api.samples = sampler.History
	wg.Add(1)
	go func() { defer wg.Done(); sampler.Run(ctx) }()
	dash := dashboard.New(dashboard.Options{})
	dash.Register(routes)
	if len(opts.Config.Notifications) > 0 {
		// Built before the feed starts, so it sees every event.
		n := notify.New(notify.Options{Store: st, Bus: bus, Targets: NotifyTargets(opts.Config.Notifications, opts.Getenv, log),
			Clock: opts.Clock, Logger: log.With("component", "notify")})
		wg.Add(1)
		go func() { defer wg.Done(); n.Run(ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); eventstream.Feed(ctx, bus, feed) }()
	var h http.Handler
	if h, err = newGuard(token, apiLn.Addr().String(), opts.APIHosts, dash, routes, log.With("component", "api")); err != nil {
		apiLn.Close()
		return err
	}
	if pipe != nil && pipe.webhook != nil {
		// The webhook authenticates by its HMAC signature, not the API
		// token, and GitHub reaches it by whatever name forwards to it.
		top := http.NewServeMux()
		top.Handle("POST /v1/webhooks/github", pipe.webhook)
		top.Handle("/", h)
		h = top
	}
	srv := newAPIServer(h, opts.ReadTimeout)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(apiLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("API stopped", "err", err)
			cancel()
		}
	}()
	info.API = apiLn.Addr().String()
	infoPath := filepath.Join(opts.StateDir, InfoFile)
	if err := writeInfo(infoPath, info); err != nil {
		return err
	}
	defer os.Remove(infoPath)
	if pipe != nil {
		wg.Add(1)
		go func() { defer wg.Done(); pipe.run(ctx) }()
	}
	log.Info("canaryflow up", "service", svc.Name, "api", info.API, "production", rt.Info.Listen,
		"test", rt.Info.TestListen, "router", rt.Info.PID, "registry", info.Registry, "runtime", rtm.Name())
	if opts.Ready != nil {
		opts.Ready(info)
	}

	<-ctx.Done()
	log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	ctl.Close()
	if opts.StopTasksOnExit {
		stopAll(sctx, rtm, svc.Name, log)
	}
	return nil
}

// NotifyTargets are the notification targets of canaryflow.yaml with
// their signing keys read from the environment.
func NotifyTargets(ns []config.Notification, getenv func(string) string, log *slog.Logger) []notify.Target {
	if getenv == nil {
		getenv = os.Getenv
	}
	out := make([]notify.Target, 0, len(ns))
	for _, n := range ns {
		t := notify.Target{URL: n.URL, Format: n.Format, Events: n.Events}
		if n.SecretEnv != "" {
			if v := getenv(n.SecretEnv); v != "" {
				t.Secret = []byte(v)
			} else if n.Format == config.FormatJSON {
				log.Warn("notifications to this target are not signed: its secret variable is not set", "target", t.Host(), "variable", n.SecretEnv)
			}
		}
		out = append(out, t)
	}
	return out
}

// stopAll stops the service's tasks and removes their records.
func stopAll(ctx context.Context, rtm runtime.Runtime, service string, log *slog.Logger) {
	tasks, err := rtm.List(ctx, map[string]string{runtime.LabelService: service})
	if err != nil {
		log.Warn("list tasks to stop", "err", err)
		return
	}
	for _, t := range tasks {
		if t.State == runtime.StateRunning {
			if err := rtm.Stop(ctx, t.ID, 5*time.Second); err != nil {
				log.Warn("stop task", "task", t.ID, "err", err)
				continue
			}
		}
		if err := rtm.Remove(ctx, t.ID); err != nil {
			log.Warn("remove task", "task", t.ID, "err", err)
		}
	}
}

// writeInfo writes the info file readable by its owner only.
func writeInfo(path string, info Info) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// AlreadyRunningError is `up` on a state directory another daemon holds.
type AlreadyRunningError struct {
	StateDir string
	Info     *Info // the holder as its daemon.json says; nil when unreadable
}

func (e *AlreadyRunningError) Error() string {
	holder := "another process holds its store"
	if e.Info != nil {
		holder = fmt.Sprintf("PID %d, API %s", e.Info.PID, e.Info.API)
	}
	return fmt.Sprintf("canaryflow up is already running on %s (%s)\n"+
		"  talk to it (canaryflow status, canaryflow deploy …), stop it (kill -INT <PID>), or give this one another --state-dir", e.StateDir, holder)
}

// ExitCode is 3: the state refuses the request now.
func (e *AlreadyRunningError) ExitCode() int { return 3 }

func alreadyRunning(stateDir string) error {
	e := &AlreadyRunningError{StateDir: stateDir}
	if info, err := ReadInfo(stateDir); err == nil {
		e.Info = &info
	}
	return e
}

// ReadInfo reads the running daemon's info file from a state directory.
func ReadInfo(stateDir string) (Info, error) {
	var info Info
	data, err := os.ReadFile(filepath.Join(stateDir, InfoFile))
	if err != nil {
		return info, fmt.Errorf("no running daemon in %s (start one with `canaryflow up`): %w", stateDir, err)
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("read %s: %w", InfoFile, err)
	}
	return info, nil
}

// newAPIServer is the API's HTTP server. A client must send its headers
// and body within their timeouts, and an idle connection is closed. There
// is no write timeout: a followed log streams for as long as its
// execution runs (net/http lifts the read deadline while a handler runs
// after the body is read, so streams outlive ReadTimeout).
func newAPIServer(h http.Handler, readTimeout time.Duration) *http.Server {
	if readTimeout == 0 {
		readTimeout = time.Minute
	}
	return &http.Server{Handler: h, ReadHeaderTimeout: min(10*time.Second, readTimeout), ReadTimeout: readTimeout,
		IdleTimeout: 2 * time.Minute}
}

// logWriter sends hook output to the log, one record per write.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Info("hook output", "text", string(p))
	return len(p), nil
}
