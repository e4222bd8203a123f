package leakcheck

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a process found in /proc.
type Proc struct {
	PID, PPID, PGID int
	Exe, Dir, Args  string
}

func (p Proc) String() string {
	return fmt.Sprintf("process %d (parent %d): %s [exe %s, dir %s]", p.PID, p.PPID, p.Args, p.Exe, p.Dir)
}

// Processes lists the processes, other than this one, whose executable or
// working directory lies under root, or whose environment holds EnvRun=id
// (id "" matches no environment).
func Processes(root, id string) []Proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	marker := []byte(EnvRun + "=" + id + "\x00")
	var out []Proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		exe, _ := os.Readlink(filepath.Join(dir, "exe"))
		cwd, _ := os.Readlink(filepath.Join(dir, "cwd"))
		match := root != "" && (under(exe, root) || under(cwd, root))
		if !match && id != "" {
			env, _ := os.ReadFile(filepath.Join(dir, "environ"))
			match = bytes.HasPrefix(env, marker) || bytes.Contains(env, append([]byte{0}, marker...))
		}
		if !match {
			continue
		}
		p := Proc{PID: pid, Exe: exe, Dir: cwd}
		p.PPID, p.PGID = parentAndGroup(dir)
		if p.PPID == 0 && p.PGID == 0 {
			continue // gone, or a zombie already
		}
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		p.Args = strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		out = append(out, p)
	}
	return out
}

// parentAndGroup reads a live process's parent and process group from its
// stat file; zeros for a zombie or a process that is gone.
func parentAndGroup(dir string) (ppid, pgid int) {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return 0, 0
	}
	return parseStat(string(b))
}

// parseStat reads the parent and process group from a /proc/PID/stat line
// ("pid (comm) state ppid pgrp ..."; comm may hold spaces and parens);
// zeros for a zombie, a dead process or a line it cannot read.
func parseStat(s string) (ppid, pgid int) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
		return 0, 0
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || ppid < 0 || pgid < 0 {
		return 0, 0
	}
	return ppid, pgid
}

// KillUnder kills every process whose executable or working directory lies
// under dir, with its process group when the group is not this process's
// own (a task of the process runtime leads a group of its own, and its
// children go with it), and waits up to 10 seconds for them to be gone.
// It returns what it killed. Tests register it with t.Cleanup over their
// state directory, so tasks a crashed or killed daemon left are not
// orphaned.
func KillUnder(dir string) []Proc {
	procs := Processes(dir, "")
	killAll(procs)
	own := syscall.Getpgrp()
	groups := map[int]bool{}
	for _, p := range procs {
		if p.PGID > 1 && p.PGID != own {
			groups[p.PGID] = true
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for (len(Processes(dir, "")) > 0 || liveInGroups(groups)) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return procs
}

// liveInGroups reports whether a live (not zombie) process is in one of
// the process groups.
func liveInGroups(groups map[int]bool) bool {
	if len(groups) == 0 {
		return false
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if _, g := parentAndGroup(filepath.Join("/proc", e.Name())); groups[g] {
			return true
		}
	}
	return false
}

func killAll(procs []Proc) {
	own := syscall.Getpgrp()
	for _, p := range procs {
		if p.PGID > 1 && p.PGID != own {
			syscall.Kill(-p.PGID, syscall.SIGKILL)
		}
		syscall.Kill(p.PID, syscall.SIGKILL)
	}
}
