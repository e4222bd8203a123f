package runtime

import (
	"os"
	"testing"

	"github.com/canaryflow/canaryflow/internal/leakcheck"
)

// sharedDirs are removed when the test binary ends.
var sharedDirs []string

// tempDirNoCleanup makes a directory for state shared by the whole test
// binary (the registry), removed by TestMain.
func tempDirNoCleanup() (string, error) {
	d, err := os.MkdirTemp("", "canaryflow-runtime-test-*")
	if err == nil {
		sharedDirs = append(sharedDirs, d)
	}
	return d, err
}

// TestMain fails the binary when a test left a task, container or image
// (see leakcheck).
func TestMain(m *testing.M) {
	code := leakcheck.Wrap(m).Run()
	for _, d := range sharedDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
