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
)

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
