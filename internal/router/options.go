package router

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// DefaultPinHeader is the pin header's customary name. Pinning is off
// unless Options.PinHeader names a header; this one is still removed from
// every forwarded request, so that no backend acts on a pin the router
// ignored.
const DefaultPinHeader = "X-Canaryflow-Target"

// MinPinSecret is the shortest Options.PinSecret accepted.
const MinPinSecret = 16

// PinSecretEnv is the environment variable the pin secret comes from:
// canaryflow-proxy's always, the daemon's unless service.pin_header.
// secret_env names another. The router reads no environment itself; the
// name lives here, beside the pin header's other constants, so that the
// proxy (which links no config) and config name one variable.
const PinSecretEnv = "CANARYFLOW_PIN_SECRET"

// Default values used when an Options field is zero.
const (
	DefaultDeregistrationDelay = 30 * time.Second
	DefaultMaxIdlePerTarget    = 4096
	DefaultIdleConnTimeout     = 60 * time.Second
	DefaultDialTimeout         = 2 * time.Second
	DefaultResponseTimeout     = 60 * time.Second
)

// Options configure a Router. The zero value is a router with no targets,
// all traffic weighted to blue, no active health checks and defaults below.
type Options struct {
	// Blue and Green are the initial targets (http://host:port) of each group.
	Blue, Green []string
	// GreenWeight is the initial per-mille of production traffic for green;
	// blue gets the rest. Zero sends everything to blue.
	GreenWeight int
	// Restore, if set, is a State saved by an earlier router: its target
	// groups, targets and routing replace Blue, Green and GreenWeight,
	// which set up two groups named "blue" and "green".
	Restore *State
	// StateChanged, if set, is called after every change State would show
	// (groups, targets, health, routing), so the caller can save it. It
	// must not block, nor call the router.
	StateChanged func()
	// PinHeader names the request header that routes a request to one
	// group whatever the weights. Its value must be "GROUP:SECRET" (GROUP
	// green or blue, SECRET equal to PinSecret); any other value is
	// ignored. Empty disables pinning. The header (DefaultPinHeader when
	// empty) is removed from every request before it is forwarded.
	PinHeader string
	// PinSecret is the secret a pin must carry; required, at least
	// MinPinSecret visible ASCII characters, when PinHeader is set.
	PinSecret string
	// StickyCookie, when set, names a cookie that keeps a client on the group
	// it was first sent to while that group has a non-zero weight. Empty
	// disables stickiness.
	StickyCookie string
	// HealthCheck configures active health checks; a zero value disables them
	// and targets are healthy as soon as they are registered. Either way a
	// target that refuses a connection (or resets it, or lets the dial time
	// out) is taken out at once and the request, of which nothing was sent,
	// is retried on another target, of the other group if need be; the
	// active checks bring it back, or without them ten seconds do. The last
	// target able to serve is never taken out.
	HealthCheck HealthCheck
	// DeregistrationDelay bounds how long a deregistered target may finish
	// in-flight requests before they are cancelled with 504. Zero means
	// DefaultDeregistrationDelay.
	DeregistrationDelay time.Duration
	// MaxIdlePerTarget caps idle keep-alive connections kept per target. Zero
	// means DefaultMaxIdlePerTarget, set above what a router has in flight
	// to one target: a cap below that closes connections as answers come
	// back only to dial new ones a moment later (at 2,000 client
	// connections, a cap of 512 cost 9-15% of the throughput and no less
	// memory). IdleConnTimeout is what gives idle connections back.
	MaxIdlePerTarget int
	// IdleConnTimeout closes upstream connections idle for longer. Every
	// idle connection is checked before reuse, for the server having closed
	// it (servers' own keep-alive timeouts are often a few seconds) or sent
	// bytes nobody asked for; either way it is closed and another one used.
	// Zero means DefaultIdleConnTimeout.
	IdleConnTimeout time.Duration
	// DialTimeout bounds connecting to a target. Zero means DefaultDialTimeout.
	DialTimeout time.Duration
	// ResponseTimeout bounds the wait for a target's response header after
	// the request was sent, like an ALB's idle timeout: past it the client
	// gets 504, counted as a 5xx for the target, so a hung version trips the
	// alarms. The wait may last up to an eighth longer (the deadline is
	// moved in steps). Zero means DefaultResponseTimeout; negative disables
	// it.
	ResponseTimeout time.Duration
	// ClientHeaderTimeout bounds the reading of a request's head, from its
	// first byte to its end however many pieces it comes in, as net/http's
	// ReadHeaderTimeout does. Zero means DefaultClientHeaderTimeout.
	ClientHeaderTimeout time.Duration
	// ClientBodyTimeout bounds the reading of a request's body, from the
	// end of its head. Zero means no bound, as on net/http's server without
	// a ReadTimeout: an upload takes as long as it needs.
	ClientBodyTimeout time.Duration
	// ClientIdleTimeout closes a client's keep-alive connection that sends
	// no new request for that long (on the fast front end, within half as
	// long again). Zero means DefaultClientIdleTimeout.
	ClientIdleTimeout time.Duration
	// TLSCertFile and TLSKeyFile, when both set, make Serve speak TLS (and
	// HTTP/2) on its listeners.
	TLSCertFile, TLSKeyFile string
	// NetHTTPOnly makes Serve use net/http for every client connection
	// instead of the fast HTTP/1.1 front end (see frontEnd), for comparison
	// and as a way out should the front end misbehave. TLS listeners always
	// use net/http.
	NetHTTPOnly bool
	// The fast front end parks a keep-alive connection idle for a second
	// (on Linux): it waits in an epoll set of the front end's without a
	// goroutine of its own, and a goroutine starts for it when its next
	// request arrives (see parker). ParkIdleAbove, when positive, parks
	// every idle connection at once while more than that many are open.
	// That costs a system call and a goroutine start per request, and
	// saved no memory under load in bench/proxy/conns.sh (the runtime
	// keeps the stacks it frees for the goroutines it starts), so it is
	// off by default. Negative never parks.
	ParkIdleAbove int
	// parkAfter is how long an idle connection keeps its goroutine when
	// ParkIdleAbove is not reached; zero means the constant parkAfter.
	// Tests shorten it.
	parkAfter time.Duration
	// releaseAfterParks and releaseMemory are the watchdog's release of
	// freed stacks (see releaseEvery); zero and nil mean the constant and
	// debug.FreeOSMemory. Tests replace them.
	releaseAfterParks int
	releaseMemory     func()
	// Logger receives errors and state changes; nil discards them.
	Logger *slog.Logger
	// Clock drives health-check intervals and drain deadlines; nil is the
	// system clock. Tests inject a fake one.
	Clock Clock
}

// HealthCheck mirrors an ALB target group's health check settings.
type HealthCheck struct {
	// Path is requested with GET on each target; empty disables checks.
	Path string
	// Interval between checks of one target. Zero means 5s. A target is
	// checked every 250ms (or Interval, if shorter) from its registration
	// until its first pass; see checkPace.
	Interval time.Duration
	// Timeout of one check. Zero means 2s.
	Timeout time.Duration
	// HealthyThreshold is the number of consecutive passes that make an
	// unhealthy target healthy. Zero means 3. A new target becomes healthy on
	// its first pass.
	HealthyThreshold int
	// UnhealthyThreshold is the number of consecutive failures that make a
	// target unhealthy. Zero means 2.
	UnhealthyThreshold int
	// SuccessCodes is ALB's matcher: "200", "200,204" or "200-299". Empty
	// means "200-399".
	SuccessCodes string
}

// ErrInvalidOptions wraps every Options validation error.
var ErrInvalidOptions = errors.New("invalid router options")

// Validate checks o without changing it.
func (o Options) Validate() error {
	var errs []error
	for _, list := range [][]string{o.Blue, o.Green} {
		seen := map[string]bool{}
		for _, raw := range list {
			t, err := ParseTarget(raw)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if seen[t] {
				errs = append(errs, fmt.Errorf("target %s listed twice", t))
			}
			seen[t] = true
		}
	}
	if o.GreenWeight < 0 || o.GreenWeight > WeightScale {
		errs = append(errs, fmt.Errorf("green weight %d per-mille: want 0..%d", o.GreenWeight, WeightScale))
	}
	if o.PinHeader != "" {
		if !validToken(o.PinHeader) {
			errs = append(errs, fmt.Errorf("pin header %q is not a valid header name", o.PinHeader))
		}
		if len(o.PinSecret) < MinPinSecret || !visibleASCII(o.PinSecret) {
			errs = append(errs, fmt.Errorf("pin header %s needs a secret of at least %d visible ASCII characters", o.PinHeader, MinPinSecret))
		}
	}
	if o.StickyCookie != "" && !validToken(o.StickyCookie) {
		errs = append(errs, fmt.Errorf("sticky cookie %q is not a valid cookie name", o.StickyCookie))
	}
	if o.DeregistrationDelay < 0 || o.IdleConnTimeout < 0 || o.DialTimeout < 0 || o.MaxIdlePerTarget < 0 {
		errs = append(errs, errors.New("durations and limits must not be negative"))
	}
	if o.ClientHeaderTimeout < 0 || o.ClientBodyTimeout < 0 || o.ClientIdleTimeout < 0 {
		errs = append(errs, errors.New("client timeouts must not be negative"))
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		errs = append(errs, errors.New("TLS needs both a certificate and a key file"))
	}
	if err := o.HealthCheck.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	return nil
}

// Validate checks the health check settings.
func (h HealthCheck) Validate() error {
	if h.Path == "" {
		return nil
	}
	if h.Path[0] != '/' {
		return fmt.Errorf("health check path %q must start with /", h.Path)
	}
	if h.Interval < 0 || h.Timeout < 0 || h.HealthyThreshold < 0 || h.UnhealthyThreshold < 0 {
		return errors.New("health check interval, timeout and thresholds must not be negative")
	}
	hc := h.withDefaults()
	if hc.Timeout >= hc.Interval {
		return fmt.Errorf("health check timeout %s must be shorter than the interval %s", hc.Timeout, hc.Interval)
	}
	if _, err := parseSuccessCodes(hc.SuccessCodes); err != nil {
		return err
	}
	return nil
}

func (h HealthCheck) withDefaults() HealthCheck {
	if h.Interval == 0 {
		h.Interval = 5 * time.Second
	}
	if h.Timeout == 0 {
		h.Timeout = 2 * time.Second
	}
	if h.HealthyThreshold == 0 {
		h.HealthyThreshold = 3
	}
	if h.UnhealthyThreshold == 0 {
		h.UnhealthyThreshold = 2
	}
	if h.SuccessCodes == "" {
		h.SuccessCodes = "200-399"
	}
	return h
}

func (o Options) withDefaults() Options {
	o.PinHeader = http.CanonicalHeaderKey(o.PinHeader)
	if o.DeregistrationDelay == 0 {
		o.DeregistrationDelay = DefaultDeregistrationDelay
	}
	if o.MaxIdlePerTarget == 0 {
		o.MaxIdlePerTarget = DefaultMaxIdlePerTarget
	}
	if o.IdleConnTimeout == 0 {
		o.IdleConnTimeout = DefaultIdleConnTimeout
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ResponseTimeout == 0 {
		o.ResponseTimeout = DefaultResponseTimeout
	}
	if o.ClientHeaderTimeout == 0 {
		o.ClientHeaderTimeout = DefaultClientHeaderTimeout
	}
	if o.ClientIdleTimeout == 0 {
		o.ClientIdleTimeout = DefaultClientIdleTimeout
	}
	if o.parkAfter == 0 {
		o.parkAfter = parkAfter
	}
	if o.releaseAfterParks == 0 {
		o.releaseAfterParks = releaseAfterParks
	}
	if o.releaseMemory == nil {
		o.releaseMemory = debug.FreeOSMemory
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	o.HealthCheck = o.HealthCheck.withDefaults()
	return o
}

// validToken reports whether s is an RFC 7230 token (header or cookie name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || indexByte("()<>@,;:\\\"/[]?={}", c) {
			return false
		}
	}
	return true
}

func indexByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// Clock is the time source for health-check intervals and drain deadlines.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has elapsed.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
