package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/server"
)

func newUpCommand() *cobra.Command {
	var lf localFlags
	var apiAddr, token, logFormat, rtMode string
	var apiHosts []string
	var stopTasks bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the local daemon: router, runtime, registry, deployment controller and API",
		Long: `up runs canaryflow's local daemon in the foreground for the service in
canaryflow.yaml: the task runtime, the embedded registry, the deployment
controller, the pipeline and a JSON API. The production and test
listeners belong to the router, a process of its own (canaryflow-proxy
beside canaryflow, else canaryflow proxy) that up starts the first time
and every later up adopts: the service keeps answering while up is
killed, restarted or upgraded. The router keeps its target groups and
routing in router/ of the state directory (its log is router/router.log)
and takes orders only on its admin socket there (mode 0600).

The API listens on 127.0.0.1:7070 by default; binding any other address
requires --token (or CANARYFLOW_TOKEN). Every API request needs the
token, on loopback too: without --token, the first up writes a random one
to api-token in the state directory (mode 0600), and every later up and
CLI command of the same user reads it there. The API answers only
requests whose Host is its address or a loopback name or address at its
port (--api-host adds names), and refuses cross-site requests and
requests that change state without Content-Type: application/json. The
CLI finds the daemon through daemon.json in the state directory.

After a crash or kill -9, up adopts the router (which kept serving),
brings its routing back to what the store says, adopts (or restarts) the
tasks, and resumes or rolls back every deployment in flight. SIGTERM shuts
down gracefully and leaves the router and the tasks running for the next
start (--stop-tasks stops both).

SIGHUP reads canaryflow.yaml again. The settings a deployment is made of
(deployment_config, ready, termination_wait, alarms, auto_rollback,
hooks, env, container, desired_count, allowed_registries) apply to the
next deployment by hand at once; a change to any other setting (ports,
health check, runtime, registry, the release and pipeline sections) is
printed with "restart canaryflow up to apply" and the old value stays in
force. An invalid file changes nothing and says why. A release the
pipeline deploys takes these settings from its own tagged commit.`,
		Example: `  canaryflow image build --tag v1.0.0 examples/hello
  canaryflow up &
  canaryflow deploy create --image hello:v1.0.0`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := workDir(cmd)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd, dir)
			if err != nil {
				return err
			}
			if cfg.Service == nil {
				return usageErrorf("up: %s", cfg.Missing("service"))
			}
			switch rtMode {
			case "":
			case "auto", "docker", "process":
				cfg.Service.Runtime = rtMode
			default:
				return usageErrorf("up: --runtime %q: want auto, docker or process", rtMode)
			}
			stateDir, err := lf.resolveStateDir()
			if err != nil {
				return err
			}
			if token == "" {
				token = os.Getenv("CANARYFLOW_TOKEN")
			}
			var h slog.Handler
			switch logFormat {
			case "text":
				h = slog.NewTextHandler(cmd.ErrOrStderr(), nil)
			case "json":
				h = slog.NewJSONHandler(cmd.ErrOrStderr(), nil)
			default:
				return usageErrorf("up: --log-format %q: want text or json", logFormat)
			}
			reloads := make(chan server.Reload)
			opts := server.Options{Config: cfg, StateDir: stateDir, Dir: dir, APIAddr: apiAddr, APIHosts: apiHosts, Token: token,
				RegistryAddr: lf.addr(), StopTasksOnExit: stopTasks, Logger: slog.New(h),
				Ready: func(i server.Info) {
					fmt.Fprintf(cmd.OutOrStdout(), "canaryflow up: API %s, registry %s\n", i.API, i.Registry)
				},
				Reload: reloads, Reloaded: func(r server.ReloadResult) { printReload(cmd, r) }}
			if err := opts.Validate(); err != nil {
				return &usageError{err: err}
			}
			// main does this too; doing it here keeps shutdown graceful
			// wherever the command runs (scripts run it without main).
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ctx, cancel := context.WithCancel(ctx)
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP) // before the daemon starts: a SIGHUP never kills it
			defer signal.Stop(hup)
			read := func() server.Reload {
				next, err := loadConfig(cmd, dir)
				if err == nil && next.Service != nil && rtMode != "" {
					next.Service.Runtime = rtMode // the flag still wins over the file
				}
				return server.Reload{Config: next, Err: err}
			}
			var wg sync.WaitGroup
			defer wg.Wait()
			wg.Add(1)
			go func() { defer wg.Done(); forwardReloads(ctx, hup, read, reloads) }()
			defer cancel() // runs before wg.Wait
			return server.Run(ctx, opts)
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVar(&apiAddr, "api", server.DefaultAPIAddr, "API listen address")
	cmd.Flags().StringVar(&token, "token", "", "bearer token required on the API (required off loopback; default $CANARYFLOW_TOKEN, else api-token in the state directory)")
	cmd.Flags().StringArrayVar(&apiHosts, "api-host", nil, "another Host header value the API accepts (name or name:port; repeatable)")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	cmd.Flags().BoolVar(&stopTasks, "stop-tasks", false, "stop the service's tasks and its router on shutdown")
	cmd.Flags().StringVar(&rtMode, "runtime", "", "task runtime: auto, docker or process (default: service.runtime in canaryflow.yaml, else auto)")
	return cmd
}

// forwardReloads reads canaryflow.yaml again (read) on each signal from
// hup and hands it to the daemon, until ctx is done.
func forwardReloads(ctx context.Context, hup <-chan os.Signal, read func() server.Reload, to chan<- server.Reload) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			select {
			case to <- read():
			case <-ctx.Done():
				return
			}
		}
	}
}

// printReload says what reading canaryflow.yaml again did: each change,
// applied or waiting for a restart, or why the file was refused.
func printReload(cmd *cobra.Command, r server.ReloadResult) {
	out := cmd.OutOrStdout()
	if r.Err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "canaryflow up: SIGHUP: %v: nothing changed\n", r.Err)
		return
	}
	if len(r.Applied)+len(r.Restart) == 0 {
		fmt.Fprintln(out, "canaryflow up: SIGHUP: canaryflow.yaml read again: no change")
		return
	}
	for _, c := range r.Applied {
		fmt.Fprintf(out, "canaryflow up: %s: applied\n", c)
	}
	for _, c := range r.Restart {
		fmt.Fprintf(out, "canaryflow up: %s: restart canaryflow up to apply\n", c)
	}
}
