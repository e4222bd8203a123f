// Package proxycmd is the proxy command: canaryflow's weighted blue/green
// router run on its own, as `canaryflow proxy` and as the canaryflow-proxy
// binary.
//
// It is a package of its own, importing the router and nothing of the rest
// of canaryflow, so that cmd/canaryflow-proxy links only what the proxy
// needs: every linked package runs its init at start-up, and the full
// canaryflow binary (the AWS SDK above all) costs the proxy memory it never
// uses. `canaryflow proxy` hands over to that binary when it can (see
// handoff.go).
package proxycmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/router"
)

// Exit codes of Run, the same as canaryflow's.
const (
	ExitOK    = 0 // success
	ExitError = 1 // the proxy failed (a listener, the admin endpoint, I/O)
	ExitUsage = 2 // bad flags, arguments or input: nothing listened
)

// Name is the standalone binary's name, and the one `canaryflow proxy`
// looks for beside its own executable.
const Name = "canaryflow-proxy"

// Options shape the command for where it is mounted. The zero value is the
// standalone canaryflow-proxy.
type Options struct {
	// Use is the command's name in its usage line; empty means Name.
	Use string
	// Handoff makes the serving form exec the canaryflow-proxy binary found
	// beside the running executable, once the flags are valid. False (the
	// standalone binary) always serves in-process.
	Handoff bool
}

// Run executes canaryflow-proxy with args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := NewCommand(Options{})
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "%s: %v\n", Name, err)
	var ue *usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitError
}

// usageError marks errors caused by what the user typed. Its ExitCode
// method is how canaryflow's own exit-code mapping recognises it.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// ExitCode is ExitUsage: nothing was changed and nothing listened.
func (e *usageError) ExitCode() int { return ExitUsage }

// usageErrorf returns an error that maps to ExitUsage.
func usageErrorf(format string, a ...any) error {
	return &usageError{err: fmt.Errorf(format, a...)}
}

// usageArgs makes argument validation errors usage errors, so a wrong
// number of arguments exits 2.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &usageError{err: err}
		}
		return nil
	}
}

const proxyHelp = `proxy runs canaryflow's router on its own: a production listener splits
requests between the blue and the green targets by weight (0.1% steps, exact
over any window), an optional test listener always routes to green, active
health checks keep traffic on healthy targets, and an admin endpoint on
loopback changes weights and targets while it runs.

The admin endpoint always requires a bearer token: --admin-token, else
$CANARYFLOW_ADMIN_TOKEN, else a random one written (mode 0600, removed on
exit) to <state dir>/proxy/admin-<host>-<port>.token, host "loopback" for
any loopback address, where set-weight finds it (state dir:
$CANARYFLOW_STATE_DIR, else $XDG_STATE_HOME/canaryflow, else
~/.local/state/canaryflow). It refuses Host names other than its own and
loopback's (DNS rebinding), cross-site writes, and writes that are not
application/json. Metrics are served in Prometheus format at the admin
/metrics.

With --pin-header NAME, a request whose NAME header is green:SECRET or
blue:SECRET (SECRET the value of $CANARYFLOW_PIN_SECRET) goes to that group
whatever the weights. The pin header is never forwarded. A target that is
one of the proxy's own addresses is refused, and a request that comes back
to the proxy (its Via entry) is answered 508 Loop Detected.
`

const handoffHelp = `
canaryflow proxy runs as canaryflow-proxy, a separate binary with only the
router linked in, when that sits in the same directory as canaryflow: once
the flags are valid it execs it with the same flags and environment (same
PID). The full canaryflow binary takes about twice the memory for the same
work. Without canaryflow-proxy there, it serves in-process and says so on
stderr; CANARYFLOW_PROXY_INPROCESS=1 asks for that, silently.
`

const proxyExample = `
Example:
  canaryflow proxy --listen 127.0.0.1:8080 --test-listen 127.0.0.1:8081 \
    --blue http://127.0.0.1:9001,http://127.0.0.1:9003 --green http://127.0.0.1:9002 \
    --green-weight 10 --health-path /healthz --admin 127.0.0.1:8090
  canaryflow proxy set-weight --admin 127.0.0.1:8090 25`

// NewCommand returns the proxy command with its set-weight subcommand.
func NewCommand(o Options) *cobra.Command {
	var f proxyFlags
	use := o.Use
	if use == "" {
		use = Name
	}
	long := proxyHelp
	if o.Handoff {
		long += handoffHelp
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: "Run the weighted blue/green HTTP router in front of two versions of a service",
		Long:  long + proxyExample,
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.adminToken == "" {
				f.adminToken = os.Getenv(AdminTokenEnv)
			}
			f.pinSecret = os.Getenv(router.PinSecretEnv)
			f.args = givenFlags(cmd)
			logOut := cmd.ErrOrStderr()
			if f.logFile != "" {
				if _, err := f.options(io.Discard); err != nil {
					return err // bad flags create no log file
				}
				lf, err := openLogFile(f.logFile, LogFileMax)
				if err != nil {
					return fmt.Errorf("--log-file: %w", err)
				}
				defer lf.Close()
				logOut = lf
			}
			opts, err := f.options(logOut)
			if err != nil {
				return err
			}
			if o.Handoff {
				handOff(cmd)
			}
			return runProxy(cmd.Context(), cmd.OutOrStdout(), f, opts)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err: err}
	})
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "production listener address")
	fl.StringVar(&f.logFile, "log-file", "", "write the log to this file instead of standard error; past 10 MB it becomes FILE.1 (replacing the one before) and a new FILE starts")
	fl.StringVar(&f.testListen, "test-listen", "", "test listener address (always routes to green); empty for none")
	fl.StringVar(&f.blue, "blue", "", "blue targets, comma-separated http://host:port (required)")
	fl.StringVar(&f.green, "green", "", "green targets, comma-separated http://host:port")
	fl.StringVar(&f.greenWeight, "green-weight", "0", "percent of production traffic for green, 0-100 in 0.1 steps")
	fl.StringVar(&f.healthPath, "health-path", "", "health check path (e.g. /healthz); empty disables active checks")
	fl.DurationVar(&f.healthInterval, "health-interval", 5*time.Second, "time between health checks of a target")
	fl.DurationVar(&f.healthTimeout, "health-timeout", 2*time.Second, "timeout of one health check")
	fl.IntVar(&f.healthyThreshold, "healthy-threshold", 3, "consecutive passes that make an unhealthy target healthy")
	fl.IntVar(&f.unhealthyThreshold, "unhealthy-threshold", 2, "consecutive failures that make a target unhealthy")
	fl.StringVar(&f.successCodes, "success-codes", "200-399", "health check success codes: 200, 200,204 or 200-299")
	fl.StringVar(&f.pinHeader, "pin-header", "", `request header that pins a request to a group when its value is "green:SECRET" or "blue:SECRET" (SECRET from $`+router.PinSecretEnv+`); empty disables pinning (the header named `+router.DefaultPinHeader+` is still removed from forwarded requests)`)
	fl.StringVar(&f.stickyCookie, "sticky-cookie", "", "cookie name that keeps a client on one version; empty disables")
	fl.DurationVar(&f.deregistrationDelay, "deregistration-delay", router.DefaultDeregistrationDelay, "how long a removed target may finish in-flight requests")
	fl.DurationVar(&f.responseTimeout, "response-timeout", router.DefaultResponseTimeout, "how long to wait for a target's response header before answering 504; 0 disables")
	fl.StringVar(&f.admin, "admin", "", "admin endpoint address (loopback unless --admin-token is set); empty for none")
	fl.StringVar(&f.adminToken, "admin-token", "", "bearer token the admin endpoint requires (default $"+AdminTokenEnv+", else one drawn at random and written to <state dir>/proxy/admin-<host>-<port>.token; needed to bind it off loopback)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "certificate file: serve HTTPS and HTTP/2 on the listeners")
	fl.StringVar(&f.tlsKey, "tls-key", "", "private key file for --tls-cert")
	fl.BoolVar(&f.netHTTPOnly, "net-http", false, "serve clients with Go's net/http only, without the fast HTTP/1.1 front end (slower; for comparison)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log every retry and health check change at debug level")
	fl.StringVar(&f.stateDir, "state-dir", "", "run as a managed router: keep target groups, targets and routing in this directory and restore them at start, with the admin endpoint on its admin.sock unless --admin is given (--blue is then optional)")
	fl.IntVar(&f.readyFD, "ready-fd", 0, "file descriptor to write one line to once the listeners serve (for a supervisor); 0 for none")
	_ = fl.MarkHidden("ready-fd")
	fl.StringVar(&f.inheritFDs, "inherit-fds", "", "listeners handed over by the router this one replaces: listen=FD,test=FD,admin=FD")
	_ = fl.MarkHidden("inherit-fds")
	cmd.AddCommand(newSetWeightCommand())
	return cmd
}
