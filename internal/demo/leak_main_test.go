package demo

import (
	"testing"

	"github.com/canaryflow/canaryflow/internal/leakcheck"
)

// TestMain fails the binary when a test left a process, container or
// image behind (see leakcheck).
func TestMain(m *testing.M) { leakcheck.Main(m) }
