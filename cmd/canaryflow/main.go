// Command canaryflow drives a Gitflow + SemVer release from tag to canary.
//
// main stays tiny: it wires signals and the process streams to cli.Run and
// is the only place that calls os.Exit.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/canaryflow/canaryflow/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
