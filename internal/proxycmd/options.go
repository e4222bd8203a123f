package proxycmd

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/canaryflow/canaryflow/internal/loopback"
	"github.com/canaryflow/canaryflow/internal/router"
)

// proxyFlags are the flags of the proxy command.
type proxyFlags struct {
	listen, testListen, admin, adminToken string
	blue, green, greenWeight              string
	healthPath, successCodes              string
	healthInterval, healthTimeout         time.Duration
	healthyThreshold, unhealthyThreshold  int
	pinHeader, stickyCookie               string
	pinSecret                             string // from router.PinSecretEnv, never a flag: it would show in process listings
	deregistrationDelay, responseTimeout  time.Duration
	tlsCert, tlsKey                       string
	netHTTPOnly, verbose                  bool
	logFile                               string   // the log's file, rotated (log_file.go); empty: standard error
	stateDir                              string   // managed: state and admin socket there (managed.go)
	readyFD                               int      // managed: written to once serving, then closed
	inheritFDs                            string   // managed: listeners handed over by the process this one replaces (handover.go)
	args                                  []string // the flags as given, --ready-fd left out (ProcessInfo.Args)
}

// adminSocket reports whether the admin endpoint is a Unix socket, and its
// path: --admin unix:PATH or an absolute path, or with --state-dir and no
// --admin, the socket in the state directory.
func (f proxyFlags) adminSocket() (string, bool) {
	if f.admin == "" && f.stateDir != "" {
		return "", true
	}
	return router.SocketPath(f.admin)
}

// options validates the flags into router options; every error is a usage
// error, reported before anything listens.
func (f proxyFlags) options(logOut io.Writer) (router.Options, error) {
	if f.blue == "" && f.stateDir == "" {
		return router.Options{}, usageErrorf("--blue is required: at least one http://host:port (or --state-dir, for a router a control plane fills)")
	}
	var blue []string
	var err error
	if f.blue != "" {
		if blue, err = router.ParseTargetList(f.blue); err != nil {
			return router.Options{}, usageErrorf("--blue: %w", err)
		}
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
		if _, sock := router.SocketPath(a.addr); sock && a.flag == "--admin" {
			continue
		}
		if err := checkListenAddr(a.addr); err != nil {
			return router.Options{}, usageErrorf("%s: %w", a.flag, err)
		}
	}
	for _, t := range append(append([]string(nil), blue...), green...) {
		for _, a := range []struct{ flag, addr string }{{"--listen", f.listen}, {"--test-listen", f.testListen}, {"--admin", f.admin}} {
			if a.addr != "" && router.SameEndpoint(a.addr, t) {
				return router.Options{}, usageErrorf("target %s is this proxy's own %s address %s: it would forward to itself", t, a.flag, a.addr)
			}
		}
	}
	if _, sock := f.adminSocket(); !sock && f.admin != "" && f.adminToken == "" && !loopback.IsHost(f.admin) {
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
		PinSecret:           f.pinSecret,
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
	if f.tlsCert != "" && f.tlsKey != "" {
		// Read the pair now, so a wrong path fails before anything
		// listens or says it does.
		if _, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey); err != nil {
			return router.Options{}, usageErrorf("--tls-cert %s, --tls-key %s: %w", f.tlsCert, f.tlsKey, err)
		}
	}
	if gw > 0 && len(green) == 0 && f.stateDir == "" {
		fmt.Fprintf(logOut, "warning: --green-weight %s but no --green targets: green's share goes to blue until green targets are added "+
			"(give --green http://host:port, or start with --admin and add them through its API)\n", f.greenWeight)
	}
	if f.deregistrationDelay <= 0 {
		return router.Options{}, usageErrorf("--deregistration-delay must be positive")
	}
	if f.healthPath != "" && (f.healthInterval <= 0 || f.healthTimeout <= 0 || f.healthyThreshold < 1 || f.unhealthyThreshold < 1) {
		return router.Options{}, usageErrorf("--health-interval, --health-timeout and the thresholds must be positive")
	}
	if f.pinHeader != "" && len(f.pinSecret) < router.MinPinSecret {
		return router.Options{}, usageErrorf("--pin-header %s needs the secret a pin must carry in $%s (at least %d characters)", f.pinHeader, router.PinSecretEnv, router.MinPinSecret)
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
