package proxycmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"time"

	"github.com/canaryflow/canaryflow/internal/router"
	"github.com/canaryflow/canaryflow/internal/secretfile"
)

// runProxy binds the listeners, serves until ctx is done, then shuts down.
// The admin endpoint is bound first and its generated token written before
// the production listener opens, so whoever sees the proxy answer finds
// the token file in place.
func runProxy(ctx context.Context, stdout io.Writer, f proxyFlags, opts router.Options) error {
	var saver *stateSaver
	if f.stateDir != "" {
		if err := os.MkdirAll(f.stateDir, 0o700); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
		st, ok, err := loadState(f.stateDir)
		if err != nil {
			return err
		}
		switch {
		case ok:
			opts.Restore = &st
			fmt.Fprintf(stdout, "restored %d target groups from %s\n", len(st.Groups), filepath.Join(f.stateDir, StateFile))
		case f.blue == "":
			// A managed router starts with no group: its control plane
			// creates them.
			opts.Restore = &router.State{Routing: router.Routing{Weights: router.GreenWeights(0)}}
		}
		saver = newStateSaver(f.stateDir, func(err error) { opts.Logger.Error("router state", "err", err) })
		opts.StateChanged = saver.changed
	}
	rt, err := router.New(opts)
	if err != nil {
		return usageErrorf("%w", err)
	}
	defer rt.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if saver != nil {
		saver.changed() // the state as restored or set up by the flags
		go saver.run(ctx, rt)
		defer func() { cancel(); <-saver.done }()
	}
	var lc net.ListenConfig
	info := ProcessInfo{PID: os.Getpid(), Started: time.Now().UTC()}
	info.Executable, _ = os.Executable()
	info.Args = f.args
	inherited, err := parseInheritFDs(f.inheritFDs)
	if err != nil {
		return usageErrorf("--inherit-fds: %w", err)
	}
	ho := &handover{saver: saver, rt: rt, stop: cancel, log: opts.Logger}
	var aln net.Listener
	var adminAddr, token string
	if f.admin != "" || f.stateDir != "" {
		var cleanup func()
		if aln, adminAddr, token, cleanup, err = listenAdmin(ctx, lc, f, stdout, inherited["admin"]); err != nil {
			return err
		}
		defer func() {
			if !ho.done.Load() { // the next process uses the socket now
				cleanup()
			}
		}()
		defer aln.Close()
	}
	prod, err := listenOrInherit(ctx, lc, f.listen, inherited["listen"])
	if err != nil {
		return fmt.Errorf("proxy listen: %w", err)
	}
	var test net.Listener
	if f.testListen != "" {
		if test, err = listenOrInherit(ctx, lc, f.testListen, inherited["test"]); err != nil {
			_ = prod.Close()
			return fmt.Errorf("proxy test listen: %w", err)
		}
	}
	ho.listeners = map[string]net.Listener{"listen": prod, "test": test, "admin": aln}
	ho.args = f.args
	info.Listen = prod.Addr().String()
	if test != nil {
		info.TestListen = test.Addr().String()
	}
	if f.stateDir != "" {
		path := filepath.Join(f.stateDir, ProcessFile)
		if err := writeJSONFile(path, info); err != nil {
			_ = prod.Close()
			return err
		}
		defer func() {
			if !ho.done.Load() {
				_ = os.Remove(path)
			}
		}()
	}
	adminDone := make(chan error, 1)
	if aln == nil {
		adminDone <- nil
	} else {
		var hoHandler http.Handler
		if f.stateDir != "" {
			hoHandler = ho
		}
		h := adminHandler(rt, adminAddr, token, info, hoHandler)
		if saver != nil {
			h = ho.fence(savedBeforeAnswer(h, saver, rt))
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			err := srv.Serve(aln)
			if errors.Is(err, http.ErrServerClosed) || ho.done.Load() {
				err = nil // closed on purpose: shut down, or handed over
			}
			adminDone <- err
		}()
		go func() {
			<-ctx.Done()
			_ = srv.Close()
		}()
		fmt.Fprintf(stdout, "admin on %s\n", adminURL(aln))
	}
	fmt.Fprintf(stdout, "proxy on %s (%s)\n", prod.Addr(), rt.Weights())
	if test != nil {
		fmt.Fprintf(stdout, "test listener on %s (reaches %s)\n", test.Addr(), testTarget(rt))
	}
	served := make(chan error, 1)
	go func() { served <- rt.Serve(ctx, prod, test) }()
	if f.readyFD > 0 {
		// The listeners accept from the moment they are bound; Serve
		// takes them up at once.
		if ready := os.NewFile(uintptr(f.readyFD), "ready"); ready != nil {
			_, _ = ready.WriteString("ready\n")
			_ = ready.Close()
		}
	}
	err = <-served
	cancel()
	return errors.Join(err, <-adminDone)
}

// testTarget names what the test listener reaches, for the start-up line.
func testTarget(rt *router.Router) string {
	if t := rt.Routing().Test; t != "" {
		return t
	}
	return "no target group yet"
}

// listenAdmin binds the admin endpoint: a Unix socket (mode 0600) or a TCP
// address, with its token: --admin-token, the managed token of the state
// directory, or one generated into the token file of the address.
func listenAdmin(ctx context.Context, lc net.ListenConfig, f proxyFlags, stdout io.Writer, inheritFD int) (ln net.Listener, addr, token string, cleanup func(), err error) {
	cleanup = func() {}
	token = f.adminToken
	if path, sock := f.adminSocket(); sock {
		if path == "" {
			if path, err = SocketPathFor(f.stateDir); err != nil {
				return nil, "", "", cleanup, err
			}
		}
		if inheritFD > 0 {
			ln, err = inheritListener(inheritFD)
		} else {
			ln, err = listenAdminSocket(path)
		}
		if err != nil {
			return nil, "", "", cleanup, err
		}
		cleanup = func() { _ = os.Remove(path) }
		if token == "" {
			dir := f.stateDir
			if dir == "" {
				dir = filepath.Dir(path)
			}
			if token, err = managedToken(dir); err != nil {
				ln.Close()
				return nil, "", "", func() {}, fmt.Errorf("proxy admin: %w", err)
			}
		}
		return ln, "", token, cleanup, nil
	}
	if ln, err = lc.Listen(ctx, "tcp", f.admin); err != nil {
		return nil, "", "", cleanup, fmt.Errorf("proxy admin listen: %w", err)
	}
	addr = ln.Addr().String()
	if token == "" && f.stateDir != "" {
		token, err = managedToken(f.stateDir)
	} else if token == "" {
		var path string
		path, err = tokenFile(addr)
		if err == nil {
			token, err = secretfile.LoadOrCreate(path)
		}
		if err == nil {
			cleanup = func() { removeTokenFile(path, token) }
			fmt.Fprintf(stdout, "admin token in %s\n", path)
		}
	}
	if err != nil {
		ln.Close()
		return nil, "", "", func() {}, fmt.Errorf("proxy admin: %w (or give --admin-token)", err)
	}
	return ln, addr, token, cleanup, nil
}

// adminURL is how the start-up line names the admin endpoint.
func adminURL(ln net.Listener) string {
	if ln.Addr().Network() == "unix" {
		return "unix:" + ln.Addr().String()
	}
	return "http://" + ln.Addr().String()
}

// adminHandler is the router's admin API plus Go's profiler under
// /debug/pprof/ and the process information at /process, behind the same
// checks and token.
func adminHandler(rt *router.Router, addr, token string, info ProcessInfo, handover http.Handler) http.Handler {
	extra := map[string]http.Handler{
		"/debug/pprof/":        http.HandlerFunc(pprof.Index),
		"/debug/pprof/profile": http.HandlerFunc(pprof.Profile),
		"/debug/pprof/symbol":  http.HandlerFunc(pprof.Symbol),
		"/debug/pprof/trace":   http.HandlerFunc(pprof.Trace),
		"GET /process":         processHandler(info),
	}
	if handover != nil {
		extra["POST /handover"] = handover
	}
	return rt.AdminHandler(router.AdminOptions{Token: token, Addr: addr, Extra: extra})
}
