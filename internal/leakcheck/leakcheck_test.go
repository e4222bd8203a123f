package leakcheck

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// sleeper starts `sleep 600` with dir as its working directory and env
// added; the test kills it at the end whatever happens.
func sleeper(t *testing.T, dir string, env []string, attr *syscall.SysProcAttr) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	cmd.Dir, cmd.Env, cmd.SysProcAttr = dir, append(os.Environ(), env...), attr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	return cmd
}

func pids(ps []Proc) map[int]bool {
	m := map[int]bool{}
	for _, p := range ps {
		m[p.PID] = true
	}
	return m
}

func TestProcessesFindsByDirectoryAndMarkerOnly(t *testing.T) {
	root := t.TempDir()
	inside := sleeper(t, root, nil, nil)
	marked := sleeper(t, "/", []string{EnvRun + "=run-a"}, nil)
	other := sleeper(t, "/", []string{EnvRun + "=run-b"}, nil)
	got := pids(Processes(root, "run-a"))
	if !got[inside.Process.Pid] || !got[marked.Process.Pid] {
		t.Errorf("Processes = %v; want %d (under root) and %d (marked)", got, inside.Process.Pid, marked.Process.Pid)
	}
	if got[other.Process.Pid] || got[os.Getpid()] {
		t.Errorf("Processes = %v: it took another run's process %d or this one", got, other.Process.Pid)
	}
}

// TestKillUnderKillsTheGroup: a task leads a process group of its own, as
// the process runtime starts it; its child (outside the directory) goes
// with it.
func TestKillUnderKillsTheGroup(t *testing.T) {
	root := t.TempDir()
	cmd := exec.Command("sh", "-c", "cd / && sleep 600 & wait")
	cmd.Dir, cmd.SysProcAttr = root, &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-done })
	killed := KillUnder(root)
	if !pids(killed)[cmd.Process.Pid] {
		t.Fatalf("KillUnder killed %v, not the shell %d", killed, cmd.Process.Pid)
	}
	<-done
	if liveInGroups(map[int]bool{cmd.Process.Pid: true}) {
		t.Fatal("the group's sleep outlived KillUnder")
	}
}

type fakeM struct{ run func() int }

func (m fakeM) Run() int { return m.run() }

// TestRunFailsOnALeftover runs "tests" that leave a process in their
// temporary directory: the run fails, names it and kills it.
func TestRunFailsOnALeftover(t *testing.T) {
	var left *exec.Cmd
	done := make(chan struct{})
	var out bytes.Buffer
	r := &run{out: &out, m: fakeM{func() int {
		left = exec.Command("sleep", "600")
		left.Dir = os.TempDir() // the run's own directory
		if err := left.Start(); err != nil {
			t.Error(err)
			return 0
		}
		go func() { left.Wait(); close(done) }()
		return 0
	}}}
	if code := r.Run(); code != 1 {
		t.Errorf("Run = %d with a process left, want 1", code)
	}
	if left == nil {
		t.FailNow()
	}
	<-done // killed by the check
	if !strings.Contains(out.String(), "left these behind") || !strings.Contains(out.String(), "sleep 600") {
		t.Errorf("report:\n%s", out.String())
	}
	if os.TempDir() == "" || strings.Contains(os.TempDir(), "canaryflow-test-") {
		t.Errorf("TMPDIR not restored: %s", os.TempDir())
	}
}

func TestRunPassesWhenClean(t *testing.T) {
	var out bytes.Buffer
	r := &run{out: &out, m: fakeM{func() int { return 0 }}}
	if code := r.Run(); code != 0 {
		t.Errorf("Run = %d, want 0:\n%s", code, out.String())
	}
	if left := Leftovers(context.Background(), t.TempDir(), RunID()); len(left) != 0 {
		t.Errorf("leftovers of a clean run: %v", left)
	}
}
