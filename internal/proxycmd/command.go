package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/router"
)

// proxyFlags are the flags of `canaryflow proxy`.
type proxyFlags struct {
	listen, testListen, admin, adminToken string
	blue, green, greenWeight              string
	healthPath, successCodes              string
	healthInterval, healthTimeout         time.Duration
	healthyThreshold, unhealthyThreshold  int
	pinHeader, stickyCookie               string
	deregistrationDelay, responseTimeout  time.Duration
	tlsCert, tlsKey                       string
	netHTTPOnly, verbose                  bool
}

func newProxyCommand() *cobra.Command {
	var f proxyFlags
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Run the weighted blue/green HTTP router in front of two versions of a service",
		Long: `proxy runs canaryflow's router on its own: a production listener splits
requests between the blue and the green targets by weight (0.1% steps, exact
over any window), an optional test listener always routes to green, active
health checks keep traffic on healthy targets, and an admin endpoint on
loopback changes weights and targets while it runs.

A request header (default X-Canaryflow-Target: green|blue) pins a request to
one group. Metrics are served in Prometheus format at the admin /metrics.

Example:
  canaryflow proxy --listen 127.0.0.1:8080 --test-listen 127.0.0.1:8081 \
    --blue http://127.0.0.1:9001,http://127.0.0.1:9003 --green http://127.0.0.1:9002 \
    --green-weight 10 --health-path /healthz --admin 127.0.0.1:8090
  canaryflow proxy set-weight --admin 127.0.0.1:8090 25`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := f.options(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return runProxy(cmd.Context(), cmd.OutOrStdout(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "production listener address")
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
	fl.StringVar(&f.pinHeader, "pin-header", router.DefaultPinHeader, `request header that pins a request to "green" or "blue"; "-" disables`)
	fl.StringVar(&f.stickyCookie, "sticky-cookie", "", "cookie name that keeps a client on one version; empty disables")
	fl.DurationVar(&f.deregistrationDelay, "deregistration-delay", router.DefaultDeregistrationDelay, "how long a removed target may finish in-flight requests")
	fl.DurationVar(&f.responseTimeout, "response-timeout", router.DefaultResponseTimeout, "how long to wait for a target's response header before answering 504; 0 disables")
	fl.StringVar(&f.admin, "admin", "", "admin endpoint address (loopback unless --admin-token is set); empty for none")
	fl.StringVar(&f.adminToken, "admin-token", "", "bearer token the admin endpoint requires (needed to bind it off loopback)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "certificate file: serve HTTPS and HTTP/2 on the listeners")
	fl.StringVar(&f.tlsKey, "tls-key", "", "private key file for --tls-cert")
	fl.BoolVar(&f.netHTTPOnly, "net-http", false, "serve clients with Go's net/http only, without the fast HTTP/1.1 front end (slower; for comparison)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log every retry and health check change at debug level")
	cmd.AddCommand(newProxySetWeightCommand())
	return cmd
}

// options validates the flags into router options; every error is a usage
// error, reported before anything listens.
func (f proxyFlags) options(logOut io.Writer) (router.Options, error) {
	if f.blue == "" {
		return router.Options{}, usageErrorf("--blue is required: at least one http://host:port")
	}
	blue, err := router.ParseTargetList(f.blue)
	if err != nil {
		return router.Options{}, usageErrorf("--blue: %w", err)
	}
	var green []string
	if f.green != "" {
		if green, err = router.ParseTargetList(f.green); err != nil {
			return router.Options{}, usageErrorf("--green: %w", err)
		}
	}
	gw, err := router.ParsePercent(f.greenWeight)
	if err != nil {
		return router.Options{}, usageErrorf("--green-weight: %w", err)
	}
	for _, a := range []struct{ flag, addr string }{{"--listen", f.listen}, {"--test-listen", f.testListen}, {"--admin", f.admin}} {
		if a.addr == "" && a.flag != "--listen" {
			continue
		}
		if err := checkListenAddr(a.addr); err != nil {
			return router.Options{}, usageErrorf("%s: %w", a.flag, err)
		}
	}
	if f.admin != "" && f.adminToken == "" && !isLoopback(f.admin) {
		return router.Options{}, usageErrorf("--admin %s is not a loopback address: set --admin-token to bind it there", f.admin)
	}
	if f.testListen != "" && f.testListen == f.listen || f.admin != "" && (f.admin == f.listen || f.admin == f.testListen) {
		return router.Options{}, usageErrorf("--listen, --test-listen and --admin must be different addresses")
	}
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	opts := router.Options{
		Blue:                blue,
		Green:               green,
		GreenWeight:         gw,
		PinHeader:           f.pinHeader,
		StickyCookie:        f.stickyCookie,
		DeregistrationDelay: f.deregistrationDelay,
		ResponseTimeout:     f.responseTimeout,
		TLSCertFile:         f.tlsCert,
		TLSKeyFile:          f.tlsKey,
		NetHTTPOnly:         f.netHTTPOnly,
		Logger:              slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level})),
		HealthCheck: router.HealthCheck{
			Path:               f.healthPath,
			Interval:           f.healthInterval,
			Timeout:            f.healthTimeout,
			HealthyThreshold:   f.healthyThreshold,
			UnhealthyThreshold: f.unhealthyThreshold,
			SuccessCodes:       f.successCodes,
		},
	}
	if f.responseTimeout < 0 {
		return router.Options{}, usageErrorf("--response-timeout must not be negative (0 disables it)")
	}
	if f.responseTimeout == 0 {
		opts.ResponseTimeout = -1
	}
	if f.deregistrationDelay <= 0 {
		return router.Options{}, usageErrorf("--deregistration-delay must be positive")
	}
	if f.healthPath != "" && (f.healthInterval <= 0 || f.healthTimeout <= 0 || f.healthyThreshold < 1 || f.unhealthyThreshold < 1) {
		return router.Options{}, usageErrorf("--health-interval, --health-timeout and the thresholds must be positive")
	}
	if err := opts.Validate(); err != nil {
		return router.Options{}, usageErrorf("%w", err)
	}
	return opts, nil
}

func checkListenAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: want host:port", addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return fmt.Errorf("address %q: bad port", addr)
	}
	_ = host
	return nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runProxy binds the listeners, serves until ctx is done, then shuts down.
func runProxy(ctx context.Context, stdout io.Writer, f proxyFlags, opts router.Options) error {
	rt, err := router.New(opts)
	if err != nil {
		return usageErrorf("%w", err)
	}
	defer rt.Close()
	var lc net.ListenConfig
	prod, err := lc.Listen(ctx, "tcp", f.listen)
	if err != nil {
		return fmt.Errorf("proxy listen: %w", err)
	}
	var test net.Listener
	if f.testListen != "" {
		if test, err = lc.Listen(ctx, "tcp", f.testListen); err != nil {
			_ = prod.Close()
			return fmt.Errorf("proxy test listen: %w", err)
		}
	}
	adminDone := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if f.admin != "" {
		aln, err := lc.Listen(ctx, "tcp", f.admin)
		if err != nil {
			_ = prod.Close()
			if test != nil {
				_ = test.Close()
			}
			return fmt.Errorf("proxy admin listen: %w", err)
		}
		srv := &http.Server{Handler: adminMux(rt, f.adminToken), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			err := srv.Serve(aln)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			adminDone <- err
		}()
		go func() {
			<-ctx.Done()
			_ = srv.Close()
		}()
		fmt.Fprintf(stdout, "admin on http://%s\n", aln.Addr())
	} else {
		adminDone <- nil
	}
	fmt.Fprintf(stdout, "proxy on %s (%s)\n", prod.Addr(), rt.Weights())
	if test != nil {
		fmt.Fprintf(stdout, "test listener on %s (green only)\n", test.Addr())
	}
	err = rt.Serve(ctx, prod, test)
	cancel()
	return errors.Join(err, <-adminDone)
}

// adminMux is the router's admin API plus Go's profiler under /debug/pprof/,
// behind the same token.
func adminMux(rt *router.Router, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", rt.AdminHandler(""))
	if token == "" {
		return mux
	}
	return router.RequireToken(token, mux)
}

func newProxySetWeightCommand() *cobra.Command {
	var admin, token string
	cmd := &cobra.Command{
		Use:   "set-weight PERCENT",
		Short: "Change the green share of a running proxy",
		Long: `set-weight tells a running 'canaryflow proxy' (through its admin endpoint) to
send PERCENT of production traffic to green and the rest to blue. The change
is atomic: no request is dropped. PERCENT is 0-100 in 0.1 steps.

Example:
  canaryflow proxy set-weight --admin 127.0.0.1:8090 25`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			pm, err := router.ParsePercent(args[0])
			if err != nil {
				return usageErrorf("set-weight: %w", err)
			}
			if err := checkListenAddr(admin); err != nil {
				return usageErrorf("--admin: %w", err)
			}
			if token == "" {
				token = os.Getenv("CANARYFLOW_ADMIN_TOKEN")
			}
			w, err := setWeight(cmd.Context(), admin, token, pm)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", w)
			return nil
		},
	}
	cmd.Flags().StringVar(&admin, "admin", "127.0.0.1:8090", "admin endpoint of the running proxy")
	cmd.Flags().StringVar(&token, "admin-token", "", "bearer token of the admin endpoint (default $CANARYFLOW_ADMIN_TOKEN)")
	return cmd
}

// setWeight PUTs the green per-mille to the admin endpoint.
func setWeight(ctx context.Context, admin, token string, green int) (router.Weights, error) {
	body, _ := json.Marshal(router.WeightRequest{Green: &green})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+admin+"/weights", bytes.NewReader(body))
	if err != nil {
		return router.Weights{}, fmt.Errorf("set weight: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return router.Weights{}, fmt.Errorf("set weight: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return router.Weights{}, fmt.Errorf("set weight: admin answered %s: %s", resp.Status, bytes.TrimSpace(data))
	}
	var w router.Weights
	if err := json.Unmarshal(data, &w); err != nil {
		return router.Weights{}, fmt.Errorf("set weight: decode answer: %w", err)
	}
	return w, nil
}
