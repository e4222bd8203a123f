package runtime

import (
	"os"
	"testing"
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

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range sharedDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
