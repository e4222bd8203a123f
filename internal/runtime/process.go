package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/canaryflow/canaryflow/internal/registry"
)

// ProcessOptions configures the process runtime.
type ProcessOptions struct {
	// Dir holds tasks/ (state files and logs) and images/ (unpacked images,
	// by digest). Required.
	Dir string
	// RegistryToken authenticates pulls from canaryflow's registry.
	RegistryToken string
	// RegistryHost is that registry's host:port: the token is sent there,
	// exactly, and to no other registry. Empty: the token is sent nowhere.
	RegistryHost string
	// Logger receives runtime logs. Nil: discarded.
	Logger *slog.Logger
	// Now stamps start and finish times. Nil: time.Now.
	Now func() time.Time
}

// Validate reports options that cannot work.
func (o ProcessOptions) Validate() error {
	if o.Dir == "" {
		return errors.New("process runtime options: Dir is required")
	}
	return nil
}

// Process runs tasks as child processes of the canaryflow process: the image
// is pulled from the registry, unpacked once per digest, and its entrypoint
// run from the unpacked tree with the task's env and $PORT. There is no
// isolation (no chroot, namespaces or limits): it is for laptops and CI hosts
// without an engine, running images canaryflow built itself.
//
// A task lives as long as its process; the canaryflow process that started it
// records its exit status. Other canaryflow processes find it through its
// state file to list, stop or tail it.
type Process struct {
	opts   ProcessOptions
	log    *slog.Logger
	images *imageCache

	mu       sync.Mutex
	children map[string]*child
	wg       sync.WaitGroup
	// ports are the ports given to tasks still running (or starting),
	// which the kernel may offer again until the task listens.
	ports map[int]bool
	// freePort asks the kernel for a free port (tests replace it).
	freePort func() (int, error)
}

// child is a task this instance started and waits for.
type child struct {
	pid  int
	port int
	done chan struct{}
}

// NewProcess returns a process runtime over opts.Dir.
func NewProcess(opts ProcessOptions) (*Process, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "tasks"), 0o755); err != nil {
		return nil, fmt.Errorf("process runtime: %w", err)
	}
	return &Process{
		opts:     opts,
		log:      log,
		images:   &imageCache{dir: filepath.Join(opts.Dir, "images"), cred: registry.Credential{Host: opts.RegistryHost, Token: opts.RegistryToken}},
		children: map[string]*child{},
		ports:    map[int]bool{},
		freePort: freePort,
	}, nil
}

// Name returns "process".
func (p *Process) Name() string { return ModeProcess }

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Start pulls and unpacks the image if needed and starts its entrypoint.
func (p *Process) Start(ctx context.Context, spec TaskSpec) (Task, error) {
	if err := spec.Validate(); err != nil {
		return Task{}, err
	}
	img, err := p.images.get(ctx, spec.Image)
	if err != nil {
		return Task{}, fmt.Errorf("start task from %s: %w", spec.Image, err)
	}
	argv := append(append([]string{}, img.Config.Entrypoint...), img.Config.Cmd...)
	if len(argv) == 0 {
		return Task{}, fmt.Errorf("start task from %s: %w: no entrypoint or cmd", spec.Image, ErrBadImage)
	}
	exe, err := resolveExecutable(img.Root, argv[0], img.Config.Env)
	if err != nil {
		return Task{}, fmt.Errorf("start task from %s: %w", spec.Image, err)
	}
	port, picked := spec.HostPort, 0
	if port == 0 {
		if picked, err = p.pickPort(); err != nil {
			return Task{}, err
		}
		port = picked
	}
	running := false // a picked port is the task's from its start to its exit
	defer func() {
		if !running {
			p.releasePort(picked)
		}
	}()
	env := map[string]string{"HOST": "127.0.0.1"}
	for _, kv := range img.Config.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	maps.Copy(env, spec.Env)
	env["PORT"] = strconv.Itoa(port)

	id := newID()
	dir := p.taskDir(id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Task{}, fmt.Errorf("start task %s: %w", id, err)
	}
	logf, err := os.OpenFile(p.logPath(id), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return Task{}, fmt.Errorf("start task %s: %w", id, err)
	}
	defer logf.Close()
	workdir := img.Root
	if wd := img.Config.WorkingDir; wd != "" {
		workdir = filepath.Join(img.Root, filepath.FromSlash(path.Clean("/"+wd)))
	}
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        argv,
		Dir:         workdir,
		Env:         envList(env),
		Stdout:      logf,
		Stderr:      logf,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return Task{}, fmt.Errorf("start task from %s: %w", spec.Image, err)
	}
	running = true
	start, _ := procStart(cmd.Process.Pid)
	rec := processRecord{
		Task: Task{
			ID: id, Runtime: ModeProcess, Image: spec.Image, ImageDigest: img.Digest,
			Addr: "127.0.0.1:" + strconv.Itoa(port), Labels: spec.labels(img.Digest),
			State: StateRunning, StartedAt: p.opts.Now().UTC(), PID: cmd.Process.Pid,
		},
		ProcStart: start,
		OwnerPID:  os.Getpid(),
	}
	c := &child{pid: cmd.Process.Pid, port: picked, done: make(chan struct{})}
	p.mu.Lock()
	p.children[id] = c
	p.mu.Unlock()
	if err := p.writeRecord(rec); err != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	p.wg.Add(1)
	go p.wait(rec, cmd, c)
	p.log.Info("task started", "id", id, "image", spec.Image, "addr", rec.Addr, "pid", rec.PID)
	return rec.Task, err
}

// wait reaps the child and records how it ended.
func (p *Process) wait(rec processRecord, cmd *exec.Cmd, c *child) {
	defer p.wg.Done()
	defer close(c.done)
	_ = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if cur, err := p.readRecord(rec.ID); err == nil {
		rec = cur
	}
	rec.State = StateExited
	rec.ExitCode = code
	rec.Reason = exitReason(code, rec.StopRequested)
	rec.FinishedAt = p.opts.Now().UTC()
	if err := p.writeRecord(rec); err != nil {
		p.log.Warn("record task exit", "id", rec.ID, "err", err)
	}
	p.mu.Lock()
	delete(p.children, rec.ID)
	delete(p.ports, c.port)
	p.mu.Unlock()
	p.log.Info("task exited", "id", rec.ID, "code", code, "reason", rec.Reason)
}

// Wait blocks until the task exits or ctx is done, and returns its status.
func (p *Process) Wait(ctx context.Context, id string) (Task, error) {
	p.mu.Lock()
	c := p.children[id]
	p.mu.Unlock()
	if c != nil {
		select {
		case <-c.done:
		case <-ctx.Done():
			return Task{}, ctx.Err()
		}
		return p.Status(ctx, id)
	}
	for {
		t, err := p.Status(ctx, id)
		if err != nil || t.State == StateExited {
			return t, err
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return Task{}, ctx.Err()
		}
	}
}

// Close stops every task this instance started (SIGTERM, SIGKILL after
// grace) and waits for their exit to be recorded.
func (p *Process) Close(ctx context.Context, grace time.Duration) error {
	p.mu.Lock()
	ids := make([]string, 0, len(p.children))
	for id := range p.children {
		ids = append(ids, id)
	}
	p.mu.Unlock()
	var errs []error
	for _, id := range ids {
		errs = append(errs, p.Stop(ctx, id, grace))
	}
	p.wg.Wait()
	return errors.Join(errs...)
}

// Stop signals the task's process group with SIGTERM and, if it has not
// exited after grace, SIGKILL. It returns once the process is gone.
func (p *Process) Stop(ctx context.Context, id string, grace time.Duration) error {
	rec, err := p.readRecord(id)
	if err != nil {
		return err
	}
	if rec.State == StateExited || !rec.alive() {
		return nil
	}
	rec.StopRequested = true
	if err := p.writeRecord(rec); err != nil {
		return fmt.Errorf("stop task %s: %w", id, err)
	}
	p.mu.Lock()
	c := p.children[id]
	p.mu.Unlock()
	gone := func() bool { return !rec.alive() }
	var done <-chan struct{}
	if c != nil {
		done = c.done
	}
	if err := syscall.Kill(-rec.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop task %s: %w", id, err)
	}
	if !waitGone(ctx, done, gone, grace) {
		p.log.Info("task did not stop in its grace period: killing", "id", id, "grace", grace)
		syscall.Kill(-rec.PID, syscall.SIGKILL)
		if !waitGone(ctx, done, gone, time.Minute) {
			return fmt.Errorf("stop task %s: %w", id, ctx.Err())
		}
	}
	if c == nil {
		p.recordForeignExit(ctx, id)
	}
	return nil
}

// waitGone waits up to d for done to close (own child) or gone to hold.
func waitGone(ctx context.Context, done <-chan struct{}, gone func() bool, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if done == nil && gone() {
			return true
		}
		select {
		case <-done:
			return true
		case <-tick.C:
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// recordForeignExit marks a task stopped by this process but started by
// another one whose owner is gone (nobody else will record its end).
func (p *Process) recordForeignExit(ctx context.Context, id string) {
	for range 50 {
		rec, err := p.readRecord(id)
		if err != nil || rec.State == StateExited {
			return
		}
		if _, ownerAlive := procStart(rec.OwnerPID); !ownerAlive {
			rec.State, rec.ExitCode, rec.Reason, rec.FinishedAt = StateExited, -1, "stopped", p.opts.Now().UTC()
			p.writeRecord(rec)
			return
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return
		}
	}
}

// Status reports a task from its state file, checking that a task recorded
// as running still has its process.
func (p *Process) Status(_ context.Context, id string) (Task, error) {
	rec, err := p.readRecord(id)
	if err != nil {
		return Task{}, err
	}
	if rec.State == StateRunning && !rec.alive() {
		p.mu.Lock()
		_, owned := p.children[id]
		p.mu.Unlock()
		if !owned {
			rec.State, rec.ExitCode, rec.Reason = StateExited, -1, "lost"
		}
	}
	return rec.Task, nil
}

// List returns the tasks under Dir that carry every label in labels, in
// start order.
func (p *Process) List(ctx context.Context, labels map[string]string) ([]Task, error) {
	entries, err := os.ReadDir(filepath.Join(p.opts.Dir, "tasks"))
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	var out []Task
	for _, e := range entries {
		if !e.IsDir() || !validID(e.Name()) {
			continue
		}
		t, err := p.Status(ctx, e.Name())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if matches(t.Labels, labels) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.Before(out[j].StartedAt) })
	return out, nil
}

// Remove deletes an exited task's state file and logs.
func (p *Process) Remove(ctx context.Context, id string) error {
	t, err := p.Status(ctx, id)
	if err != nil {
		return err
	}
	if t.State == StateRunning {
		return fmt.Errorf("remove task %s: %w", id, ErrRunning)
	}
	if err := os.RemoveAll(p.taskDir(id)); err != nil {
		return fmt.Errorf("remove task %s: %w", id, err)
	}
	return nil
}

// resolveExecutable finds argv0 inside the unpacked root: a path is taken
// from the root, a bare name is searched in the image's PATH.
func resolveExecutable(root, argv0 string, env []string) (string, error) {
	var candidates []string
	if strings.Contains(argv0, "/") {
		candidates = []string{argv0}
	} else {
		dirs := "/usr/local/bin:/usr/bin:/bin"
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				dirs = v
			}
		}
		for _, d := range filepath.SplitList(dirs) {
			candidates = append(candidates, path.Join(d, argv0))
		}
	}
	for _, c := range candidates {
		p := filepath.Join(root, filepath.FromSlash(path.Clean("/"+c)))
		if err := checkNoSymlink(root, strings.TrimPrefix(p, root)); err != nil {
			continue
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: entrypoint %q not found in the image", ErrBadImage, argv0)
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
