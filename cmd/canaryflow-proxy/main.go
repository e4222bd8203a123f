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
	"runtime/debug"
	"syscall"

	"github.com/canaryflow/canaryflow/internal/proxycmd"
)

func main() {
	// The router's heap is mostly its connections', and it allocates
	// little per request, so collecting at half the heap's growth instead
	// of all of it costs little CPU and keeps thousands of connections in
	// far less memory (bench/README.md, connection scaling). GOGC still
	// decides when it is set.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := proxycmd.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
