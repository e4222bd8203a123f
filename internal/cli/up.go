package cli

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
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
canaryflow.yaml: the production and test listeners of the router, the task
runtime, the embedded registry, the deployment controller and a JSON API.

The API listens on 127.0.0.1:7070 by default; binding any other address
requires --token (or CANARYFLOW_TOKEN). Every API request needs the
token, on loopback too: without --token, the first up writes a random one
to api-token in the state directory (mode 0600), and every later up and
CLI command of the same user reads it there. The API answers only
requests whose Host is its address or a loopback name or address at its
port (--api-host adds names), and refuses cross-site requests and
requests that change state without Content-Type: application/json. The
CLI finds the daemon through daemon.json in the state directory.

After a crash or kill -9, up restores the router's weights and targets from
the store before the listeners accept traffic, adopts (or restarts) the
tasks, and resumes or rolls back every deployment in flight. SIGTERM shuts
down gracefully and leaves the tasks running for the next start
(--stop-tasks stops them).

Example:
  canaryflow image build --tag v1.0.0 examples/hello
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
				return usageErrorf("up: %s has no service section; run `canaryflow init` to write one", cfg.Path)
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
			opts := server.Options{Config: cfg, StateDir: stateDir, Dir: dir, APIAddr: apiAddr, APIHosts: apiHosts, Token: token,
				RegistryAddr: lf.addr(), StopTasksOnExit: stopTasks, Logger: slog.New(h),
				Ready: func(i server.Info) {
					fmt.Fprintf(cmd.OutOrStdout(), "canaryflow up: API %s, registry %s\n", i.API, i.Registry)
				}}
			if err := opts.Validate(); err != nil {
				return &usageError{err: err}
			}
			// main does this too; doing it here keeps shutdown graceful
			// wherever the command runs (scripts run it without main).
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return server.Run(ctx, opts)
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVar(&apiAddr, "api", server.DefaultAPIAddr, "API listen address")
	cmd.Flags().StringVar(&token, "token", "", "bearer token required on the API (required off loopback; default $CANARYFLOW_TOKEN, else api-token in the state directory)")
	cmd.Flags().StringArrayVar(&apiHosts, "api-host", nil, "another Host header value the API accepts (name or name:port; repeatable)")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	cmd.Flags().BoolVar(&stopTasks, "stop-tasks", false, "stop the service's tasks on shutdown")
	cmd.Flags().StringVar(&rtMode, "runtime", "", "task runtime: auto, docker or process (default: service.runtime in canaryflow.yaml, else auto)")
	return cmd
}
