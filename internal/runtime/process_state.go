package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// processRecord is a process task's state file, tasks/<id>/task.json. The
// canaryflow process that started the task (the owner) writes it at start
// and exit; any other canaryflow process reads it to list, stop or tail the
// task, checking the pid against its recorded start time.
type processRecord struct {
	Task
	// ProcStart is the process's start time in clock ticks since boot
	// (/proc/<pid>/stat field 22), so a reused pid is not mistaken for it.
	ProcStart uint64 `json:"procStart,omitempty"`
	// OwnerPID is the canaryflow process that waits for the task.
	OwnerPID int `json:"ownerPid"`
	// StopRequested is set by Stop before it signals the task.
	StopRequested bool `json:"stopRequested,omitempty"`
}

func (p *Process) taskDir(id string) string { return filepath.Join(p.opts.Dir, "tasks", id) }

func (p *Process) logPath(id string) string { return filepath.Join(p.taskDir(id), "output.log") }

// readRecord loads a task's state file.
func (p *Process) readRecord(id string) (processRecord, error) {
	var rec processRecord
	if !validID(id) {
		return rec, fmt.Errorf("task %q: %w", id, ErrNotFound)
	}
	b, err := os.ReadFile(filepath.Join(p.taskDir(id), "task.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return rec, fmt.Errorf("task %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return rec, fmt.Errorf("read task %s: %w", id, err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("decode task %s: %w", id, err)
	}
	return rec, nil
}

// writeRecord replaces a task's state file atomically.
func (p *Process) writeRecord(rec processRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encode task %s: %w", rec.ID, err)
	}
	dir := p.taskDir(rec.ID)
	f, err := os.CreateTemp(dir, ".task-*")
	if err != nil {
		return fmt.Errorf("write task %s: %w", rec.ID, err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, "task.json"))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write task %s: %w", rec.ID, err)
	}
	return nil
}

// validID reports whether id has the shape newID gives: it becomes a path.
func validID(id string) bool {
	if len(id) < 4 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// procStart returns a live process's start time from /proc; ok is false when
// the process is gone or a zombie. Without /proc, it trusts kill(pid, 0).
func procStart(pid int) (start uint64, ok bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, serr := os.Stat("/proc/self/stat"); serr == nil {
				return 0, false
			}
		}
		return 0, syscall.Kill(pid, 0) == nil
	}
	// The command name (field 2) may hold spaces: parse after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 || fields[0] == "Z" || fields[0] == "X" {
		return 0, false
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, false
	}
	return start, true
}

// alive reports whether the recorded process still runs (same pid, same
// start time).
func (rec processRecord) alive() bool {
	start, ok := procStart(rec.PID)
	if !ok {
		return false
	}
	return rec.ProcStart == 0 || start == 0 || start == rec.ProcStart
}
