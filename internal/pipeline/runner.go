package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/canaryflow/canaryflow/internal/redact"
)

// Execution modes, as CodePipeline's.
const (
	// ModeSuperseded lets a newer execution overtake: while a stage is busy,
	// only the newest execution waits for it and an older waiting one is
	// superseded. The default.
	ModeSuperseded = "SUPERSEDED"
	// ModeQueued runs executions one at a time, in the order they started.
	ModeQueued = "QUEUED"
)

// Stage is one step of the pipeline. Run writes its log to log and records
// its outputs on e (Image, DeploymentID); an error fails the execution.
type Stage struct {
	Name string
	Run  func(ctx context.Context, e *Execution, log io.Writer) error
}

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	// Mode is ModeSuperseded (zero value) or ModeQueued.
	Mode string
	// Stages run in order after Source; typically Build then Deploy.
	Stages []Stage
	// Executions persists every transition before the next step is taken.
	Executions *Executions
	// Now is the clock for stage times; zero means time.Now.
	Now func() time.Time
	// Log receives one line per transition; zero discards.
	Log *slog.Logger
	// Secrets are values kept out of stage logs and errors: they are stored
	// as *** (see internal/redact), even when a stage writes one in pieces.
	Secrets []string
	// MaxLogBytes bounds each stage's stored log; what a stage writes past
	// it is replaced by one TruncatedMarker line. Zero means no limit (the
	// daemon passes pipeline.build.max_log_bytes).
	MaxLogBytes int64
	// KeepExecutions is how many executions are kept: when one ends, the
	// oldest finished ones beyond the newest KeepExecutions are deleted
	// with their logs. Zero keeps them all (the daemon passes
	// pipeline.keep_executions).
	KeepExecutions int
}

// Validate reports options that cannot work.
func (o *RunnerOptions) Validate() error {
	switch o.Mode {
	case "", ModeSuperseded, ModeQueued:
	default:
		return fmt.Errorf("execution mode %q: want %s or %s", o.Mode, ModeSuperseded, ModeQueued)
	}
	if o.Executions == nil {
		return errors.New("runner: no execution store")
	}
	if o.MaxLogBytes < 0 {
		return fmt.Errorf("runner: log limit %d: want a positive number of bytes or zero", o.MaxLogBytes)
	}
	if o.KeepExecutions < 0 {
		return fmt.Errorf("runner: keep %d executions: want a positive number or zero", o.KeepExecutions)
	}
	return nil
}

// Runner starts executions and moves them through the stages.
type Runner struct {
	opts   RunnerOptions
	secret *redact.Secrets
	wg     sync.WaitGroup

	mu    sync.Mutex
	slots []*slot // one per stage: who holds it, who waits
	queue chan struct{}
}

// slot is one stage's occupancy.
type slot struct {
	busy   bool
	waiter *waiter
}

type waiter struct {
	exec  *Execution
	ready chan bool // true: the stage is yours; false: you were superseded
}

// NewRunner returns a Runner.
func NewRunner(opts RunnerOptions) (*Runner, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Mode == "" {
		opts.Mode = ModeSuperseded
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{opts: opts, secret: redact.New(opts.Secrets...), queue: make(chan struct{}, 1)}
	for range opts.Stages {
		r.slots = append(r.slots, &slot{})
	}
	return r, nil
}

// Start records a new execution for rel and runs it in the background,
// owned by the Runner (Wait waits for it). Starting a tag whose execution
// is in progress or succeeded returns that execution instead: re-running a
// tag is idempotent. A failed or stopped one is run again.
func (r *Runner) Start(ctx context.Context, rel Release, trigger string) (*Execution, bool, error) {
	r.mu.Lock()
	all, err := r.opts.Executions.List()
	if err != nil {
		r.mu.Unlock()
		return nil, false, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		e := all[i]
		if e.Tag == rel.Tag && e.Commit == rel.Commit && (e.Status == InProgress || e.Status == Succeeded) {
			r.mu.Unlock()
			return &e, false, nil
		}
	}
	e := &Execution{
		Tag: rel.Tag, Version: rel.Version.String(), Commit: rel.Commit, Trigger: trigger,
		Status: InProgress, Start: r.opts.Now(),
		Stages: []StageRun{{Name: "Source", Status: Succeeded, Start: r.opts.Now(), End: r.opts.Now()}},
	}
	for _, s := range r.opts.Stages {
		e.Stages = append(e.Stages, StageRun{Name: s.Name, Status: NotStarted})
	}
	if err := r.opts.Executions.Create(e); err != nil {
		r.mu.Unlock()
		return nil, false, err
	}
	r.mu.Unlock()
	r.opts.Log.Info("execution started", "execution", e.ID, "tag", e.Tag, "trigger", trigger)
	cp := *e
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.run(ctx, e)
	}()
	return &cp, true, nil
}

// Wait blocks until every execution the Runner started has ended.
func (r *Runner) Wait() { r.wg.Wait() }

// Recover marks executions left in progress by a previous process. The
// build stage cannot be resumed half-way, so they end Failed with a
// message saying how to run the tag again.
func (r *Runner) Recover() error {
	all, err := r.opts.Executions.List()
	if err != nil {
		return err
	}
	for i := range all {
		e := &all[i]
		if e.Status != InProgress {
			continue
		}
		for j := range e.Stages {
			if e.Stages[j].Status == InProgress {
				e.Stages[j].Status, e.Stages[j].End = Failed, r.opts.Now()
				e.Stages[j].Error = "interrupted: canaryflow stopped while this stage ran"
			}
		}
		e.Status, e.End = Failed, r.opts.Now()
		e.Error = fmt.Sprintf("interrupted by a restart; run it again with: canaryflow pipeline start --tag %s", e.Tag)
		if err := r.opts.Executions.Save(e); err != nil {
			return err
		}
	}
	return r.prune()
}

// prune deletes the oldest finished executions beyond KeepExecutions,
// with their logs.
func (r *Runner) prune() error {
	if r.opts.KeepExecutions == 0 {
		return nil
	}
	ids, err := r.opts.Executions.Prune(r.opts.KeepExecutions)
	if len(ids) > 0 {
		r.opts.Log.Info("old executions deleted with their logs", "executions", ids, "keep", r.opts.KeepExecutions)
	}
	return err
}

func (r *Runner) run(ctx context.Context, e *Execution) {
	if r.opts.Mode == ModeQueued {
		select {
		case r.queue <- struct{}{}:
			defer func() { <-r.queue }()
		case <-ctx.Done():
			r.finish(e, Stopped, "stopped before it started: canaryflow is shutting down")
			return
		}
	}
	for i, st := range r.opts.Stages {
		if r.opts.Mode == ModeSuperseded {
			// Each stage runs one execution at a time; an execution leaves a
			// stage as soon as it is done with it, so a newer one may run
			// Build while an older one waits for Deploy, and then supersede it.
			if !r.acquire(ctx, i, e) {
				if ctx.Err() != nil {
					r.finish(e, Stopped, "stopped: canaryflow is shutting down")
				} else {
					r.finish(e, Superseded, "superseded by a newer execution")
				}
				return
			}
		}
		ok := r.runStage(ctx, e, st)
		if r.opts.Mode == ModeSuperseded {
			r.release(i)
		}
		if !ok {
			return
		}
	}
	r.finish(e, Succeeded, "")
}

// runStage runs one stage; false means the execution ended with it.
func (r *Runner) runStage(ctx context.Context, e *Execution, st Stage) bool {
	run := e.Stage(st.Name)
	run.Status, run.Start = InProgress, r.opts.Now()
	if err := r.opts.Executions.Save(e); err != nil {
		r.opts.Log.Error("save execution", "execution", e.ID, "err", err)
	}
	r.opts.Log.Info("stage started", "execution", e.ID, "stage", st.Name)
	log := &stageLog{x: r.opts.Executions, e: e, id: e.ID, stage: st.Name, max: r.opts.MaxLogBytes}
	out := stageOutput{Writer: redact.NewWriter(log, r.secret), log: log}
	err := st.Run(ctx, e, out)
	if cerr := out.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("stage log: %w", cerr)
	}
	run.End = r.opts.Now()
	if err != nil {
		run.Status, run.Error = Failed, r.secret.String(err.Error())
		status := Failed
		if ctx.Err() != nil {
			status, run.Status = Stopped, Stopped
		}
		r.opts.Log.Warn("stage failed", "execution", e.ID, "stage", st.Name, "err", run.Error)
		r.finish(e, status, fmt.Sprintf("%s stage: %s", st.Name, run.Error))
		return false
	}
	run.Status = Succeeded
	if err := r.opts.Executions.Save(e); err != nil {
		r.opts.Log.Error("save execution", "execution", e.ID, "err", err)
	}
	return true
}

func (r *Runner) finish(e *Execution, status Status, msg string) {
	e.Status, e.End, e.Error = status, r.opts.Now(), msg
	if err := r.opts.Executions.Save(e); err != nil {
		r.opts.Log.Error("save execution", "execution", e.ID, "err", err)
	}
	r.opts.Log.Info("execution ended", "execution", e.ID, "tag", e.Tag, "status", status, "error", msg)
	if err := r.prune(); err != nil {
		r.opts.Log.Error("delete old executions", "err", err)
	}
}

// acquire waits for stage i. While it waits, a newer execution arriving
// at the same stage supersedes it (false).
func (r *Runner) acquire(ctx context.Context, i int, e *Execution) bool {
	r.mu.Lock()
	s := r.slots[i]
	if !s.busy {
		s.busy = true
		r.mu.Unlock()
		return true
	}
	if s.waiter != nil {
		s.waiter.ready <- false
	}
	w := &waiter{exec: e, ready: make(chan bool, 1)}
	s.waiter = w
	r.mu.Unlock()
	select {
	case ok := <-w.ready:
		return ok
	case <-ctx.Done():
		r.mu.Lock()
		if s.waiter == w {
			s.waiter = nil
		}
		r.mu.Unlock()
		select {
		case ok := <-w.ready:
			if ok {
				r.release(i)
			}
		default:
		}
		return false
	}
}

// release frees stage i, handing it to its waiter if there is one.
func (r *Runner) release(i int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.slots[i]
	if s.waiter != nil {
		w := s.waiter
		s.waiter = nil
		w.ready <- true // the stage stays busy: it is w's now
		return
	}
	s.busy = false
}
