package demo

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/canaryflow/canaryflow/internal/leakcheck"
	"github.com/canaryflow/canaryflow/internal/protect"
	"github.com/canaryflow/canaryflow/internal/routerproc"
)

// TestMain fails the binary when a test left a process, container or
// image behind (see leakcheck). Started by the demo's origin as its
// pre-receive hook (`hook pre-receive …`), the binary is that hook.
func TestMain(m *testing.M) {
	routerproc.ServeIfChild() // a daemon's router, when this binary was started as one
	if len(os.Args) > 2 && os.Args[1] == "hook" && os.Args[2] == "pre-receive" {
		os.Exit(preReceive(os.Args[3:]))
	}
	leakcheck.Main(m)
}

// preReceive is `canaryflow hook pre-receive` for this test binary.
func preReceive(args []string) int {
	var r protect.Rules
	fs := flag.NewFlagSet("pre-receive", flag.ContinueOnError)
	fs.StringVar(&r.Main, "main", "", "")
	fs.StringVar(&r.Develop, "develop", "", "")
	fs.StringVar(&r.TagPrefix, "tag-prefix", "", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := protect.PreReceive(context.Background(), ".", r, os.Stdin, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
