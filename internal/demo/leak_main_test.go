package demo

import (
	"testing"

	"github.com/canaryflow/canaryflow/internal/leakcheck"
	"github.com/canaryflow/canaryflow/internal/routerproc"
)

// TestMain fails the binary when a test left a process, container or
// image behind (see leakcheck).
func TestMain(m *testing.M) {
	routerproc.ServeIfChild() // a daemon's router, when this binary was started as one
	leakcheck.Main(m)
}
