// Package leakcheck makes a test binary fail when something its tests
// started outlives them: a task process, a daemon, a docker container or
// image. Only tests import it: Go shares no _test.go file between
// packages, and the check is needed by every package whose tests start
// tasks (runtime, server, build, cli, cmd/canaryflow), so it lives in a
// package of its own that no product code imports.
//
// Each run of a test binary gets an ID. The check tells the run's leftovers
// from those of other runs on the same machine (other engineers, other
// packages of the same `go test ./...`) by that ID only, never by "new
// since the run began":
//
//   - processes: every process whose environment holds EnvRun=ID (the
//     variable is set for the binary, so children inherit it), or whose
//     executable or working directory lies under the run's own temporary
//     directory (TMPDIR is pointed there, so t.TempDir, testscript's $WORK
//     and every state directory of a test are inside; tasks of the process
//     runtime run from an image unpacked there, with an environment of
//     their own);
//   - docker: containers labelled Label=ID or made from an image whose
//     reference holds the ID, and images whose reference holds it. Tests
//     that make docker objects name their repositories with Repo.
package leakcheck

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// EnvRun is set to the run's ID in the test binary's environment.
const EnvRun = "CANARYFLOW_TEST_RUN"

// Label is the docker label that marks a container of a run.
const Label = "canaryflow.test-run"

// TestingM is what Main and Wrap need of *testing.M.
type TestingM interface{ Run() int }

// Main runs m's tests with the check around them and exits with their
// status, or 1 when something was left behind.
func Main(m TestingM) { os.Exit(Wrap(m).Run()) }

// Wrap returns m with the check around its Run, for callers that exit by
// themselves (testscript.Main).
func Wrap(m TestingM) TestingM { return &run{m: m, out: os.Stderr} }

type run struct {
	m   TestingM
	out io.Writer
}

// Run marks the run, runs the tests, then lists, removes and fails on
// whatever they left.
func (r *run) Run() int {
	id := RunID()
	root, err := os.MkdirTemp("", "canaryflow-test-"+id+"-")
	if err != nil {
		fmt.Fprintf(r.out, "leakcheck: %v\n", err)
		return 1
	}
	oldTmp, hadTmp := os.LookupEnv("TMPDIR")
	os.Setenv("TMPDIR", root)
	code := r.m.Run()
	if hadTmp {
		os.Setenv("TMPDIR", oldTmp)
	} else {
		os.Unsetenv("TMPDIR")
	}
	if left := Leftovers(context.Background(), root, id); len(left) > 0 {
		fmt.Fprintf(r.out, "leakcheck: FAIL: the tests of run %s left these behind (now removed):\n", id)
		for _, l := range left {
			fmt.Fprintf(r.out, "\t%s\n", l)
		}
		code = 1
	}
	if err := os.RemoveAll(root); err != nil {
		fmt.Fprintf(r.out, "leakcheck: remove %s: %v\n", root, err)
	}
	return code
}

// RunID returns this run's ID, choosing it (and setting EnvRun) on first use.
func RunID() string {
	if id := os.Getenv(EnvRun); id != "" {
		return id
	}
	b := make([]byte, 6)
	rand.Read(b)
	id := hex.EncodeToString(b)
	os.Setenv(EnvRun, id)
	return id
}

// Repo returns name marked with the run's ID, for image repositories a
// test pushes and a docker engine pulls.
func Repo(name string) string { return name + "-" + RunID() }

// Leftovers finds what run id left: processes (under root or marked), then
// docker containers and images. It kills and removes each one it lists, so
// a failed run does not leave its leaks to the next one. Processes get a
// few seconds to finish exiting first (a cleanup's SIGTERM may still be
// on its way).
func Leftovers(ctx context.Context, root, id string) []string {
	var out []string
	procs := waitProcesses(root, id, 5*time.Second)
	for _, p := range procs {
		out = append(out, p.String())
	}
	killAll(procs)
	out = append(out, dockerLeftovers(ctx, id)...)
	return out
}

// waitProcesses polls for the run's processes until none is left or d
// passes, and returns those still there.
func waitProcesses(root, id string, d time.Duration) []Proc {
	deadline := time.Now().Add(d)
	for {
		procs := Processes(root, id)
		if len(procs) == 0 || time.Now().After(deadline) {
			return procs
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func under(path, dir string) bool {
	path = strings.TrimSuffix(path, " (deleted)")
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}
