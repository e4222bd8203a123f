package proxycmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/canaryflow/canaryflow/internal/router"
	"github.com/canaryflow/canaryflow/internal/secretfile"
)

// runProxy binds the listeners, serves until ctx is done, then shuts down.
// The admin endpoint is bound first and its generated token written before
// the production listener opens, so whoever sees the proxy answer finds
// the token file in place.
func runProxy(ctx context.Context, stdout io.Writer, f proxyFlags, opts router.Options) error {
	rt, err := router.New(opts)
	if err != nil {
		return usageErrorf("%w", err)
	}
	defer rt.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lc net.ListenConfig
	adminDone := make(chan error, 1)
	if f.admin == "" {
		adminDone <- nil
	} else {
		aln, err := lc.Listen(ctx, "tcp", f.admin)
		if err != nil {
			return fmt.Errorf("proxy admin listen: %w", err)
		}
		addr := aln.Addr().String()
		token := f.adminToken
		if token == "" {
			path, err := tokenFile(addr)
			if err == nil {
				token, err = secretfile.LoadOrCreate(path)
			}
			if err != nil {
				_ = aln.Close()
				return fmt.Errorf("proxy admin: %w (or give --admin-token)", err)
			}
			defer removeTokenFile(path, token)
			fmt.Fprintf(stdout, "admin token in %s\n", path)
		}
		srv := &http.Server{Handler: adminHandler(rt, addr, token), ReadHeaderTimeout: 10 * time.Second}
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
		fmt.Fprintf(stdout, "admin on http://%s\n", addr)
	}
	prod, err := lc.Listen(ctx, "tcp", f.listen)
	if err != nil {
		cancel()
		return errors.Join(fmt.Errorf("proxy listen: %w", err), <-adminDone)
	}
	var test net.Listener
	if f.testListen != "" {
		if test, err = lc.Listen(ctx, "tcp", f.testListen); err != nil {
			_ = prod.Close()
			cancel()
			return errors.Join(fmt.Errorf("proxy test listen: %w", err), <-adminDone)
		}
	}
	fmt.Fprintf(stdout, "proxy on %s (%s)\n", prod.Addr(), rt.Weights())
	if test != nil {
		fmt.Fprintf(stdout, "test listener on %s (green only)\n", test.Addr())
	}
	err = rt.Serve(ctx, prod, test)
	cancel()
	return errors.Join(err, <-adminDone)
}

// adminHandler is the router's admin API plus Go's profiler under
// /debug/pprof/, behind the same checks and token.
func adminHandler(rt *router.Router, addr, token string) http.Handler {
	return rt.AdminHandler(router.AdminOptions{Token: token, Addr: addr, Extra: map[string]http.Handler{
		"/debug/pprof/":        http.HandlerFunc(pprof.Index),
		"/debug/pprof/profile": http.HandlerFunc(pprof.Profile),
		"/debug/pprof/symbol":  http.HandlerFunc(pprof.Symbol),
		"/debug/pprof/trace":   http.HandlerFunc(pprof.Trace),
	}})
}
