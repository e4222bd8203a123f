package server

import (
	"testing"

	"github.com/canaryflow/canaryflow/internal/leakcheck"
	"github.com/canaryflow/canaryflow/internal/routerproc"
)

// TestMain fails the binary when a test left a task, container or image
// (see leakcheck): the daemons here start real tasks, and crash tests
// leave them to the next daemon on purpose.
func TestMain(m *testing.M) {
	routerproc.ServeIfChild() // a daemon's router, when this binary was started as one
	leakcheck.Main(m)
}
