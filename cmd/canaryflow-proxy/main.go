// Command canaryflow-proxy is `canaryflow proxy` alone: the weighted
// blue/green router with only what it needs linked in, so it runs in far
// less memory than the full canaryflow binary. canaryflow proxy execs it
// when it is installed in the same directory.
//
// main stays tiny: it wires signals and the process streams to proxycmd.Run
// and is the only place that calls os.Exit.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/canaryflow/canaryflow/internal/proxycmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The collector is held to a few megabytes of heap growth between
	// collections, whatever the number of connections (proxycmd/gc_pace.go,
	// bench/README.md, connection scaling). GOGC still decides when it is set.
	if os.Getenv("GOGC") == "" {
		go proxycmd.PaceGC(ctx, time.NewTicker(proxycmd.GCPaceInterval).C)
	}
	code := proxycmd.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
