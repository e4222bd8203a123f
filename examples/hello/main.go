// Command hello is the demo service canaryflow releases: the guide's Node.js
// microservice, written in Go so it builds into a static image with no base.
//
// GET / answers "Version: X.Y.Z"; GET /healthz answers "ok"; every answer
// carries an X-Version header. FAULT makes it a broken release on purpose,
// for tests and demos of a rollback: "5xx" (or "error") answers every GET /
// with 500 while /healthz stays ok, so only the alarms can catch it;
// "unhealthy" also fails /healthz, so the version never gets healthy. The version
// comes from the VERSION environment variable, else the version stamped at
// build time (-ldflags "-X main.version=X.Y.Z"), else 0.0.0-dev. On SIGTERM
// it stops accepting connections, finishes requests in flight and exits 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = ""

// shutdownGrace bounds how long requests in flight may run after SIGTERM.
const shutdownGrace = 30 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "hello: %v\n", err)
		stop()
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully.
func run(ctx context.Context, getenv func(string) string, logw io.Writer) error {
	log := slog.New(slog.NewTextHandler(logw, nil))
	port := getenv("PORT")
	if port == "" {
		port = "3000"
	}
	addr := net.JoinHostPort(getenv("HOST"), port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           withFault(getenv("FAULT"), newHandler(resolveVersion(getenv))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Info("listening", "addr", ln.Addr().String(), "version", resolveVersion(getenv), "fault", getenv("FAULT"))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// resolveVersion picks the version to report: env, stamp, then a dev marker.
func resolveVersion(getenv func(string) string) string {
	if v := getenv("VERSION"); v != "" {
		return v
	}
	if version != "" {
		return version
	}
	return "0.0.0-dev"
}

func newHandler(ver string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Version: %s\n", ver)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	// Every answer, errors included, says which version gave it: that is
	// how a canary's traffic split and error rate are watched from outside.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Version", ver)
		mux.ServeHTTP(w, r)
	})
}

// withFault wraps h with the broken behaviour FAULT asks for; an empty or
// unknown FAULT leaves h as it is.
func withFault(fault string, h http.Handler) http.Handler {
	failHealth := fault == "unhealthy"
	if fault != "5xx" && fault != "error" && !failHealth {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && !failHealth {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("X-Fault", fault)
		http.Error(w, "fault injected: "+fault, http.StatusInternalServerError)
	})
}
