package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
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
	// Adopt is asked at start about a run of this stage that a previous
	// process left in progress: it records on e what that run had started
	// (the Deploy stage: its deployment) and reports whether there is
	// anything to follow. If so, Follow runs in place of Run and the
	// execution ends as Run would have ended it. Zero means the stage
	// cannot be resumed: the execution ends interrupted.
	Adopt  func(ctx context.Context, e *Execution) (bool, error)
	Follow func(ctx context.Context, e *Execution, log io.Writer) error
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
	// Live returns the version production serves ("" when none), so that
	// the message of an interrupted execution says whether its tag still
	// needs deploying. Zero means unknown: the message asks to check.
	Live func(ctx context.Context) (string, error)
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
	// adopted are executions Recover found following something that
	// outlived the previous process; Resume runs them.
	adopted []adopted
}

// adopted is an execution to resume at stage i, which it holds.
type adopted struct {
	e *Execution
	i int
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
	cp.Stages = slices.Clone(e.Stages) // the execution's goroutine writes e.Stages
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.run(ctx, e)
	}()
	return &cp, true, nil
}

// Wait blocks until every execution the Runner started has ended.
func (r *Runner) Wait() { r.wg.Wait() }

// Recover deals with executions a previous process left in progress.
// One whose stage had started something that outlives the daemon (a
// deployment) is adopted: Resume follows it, and the execution ends with
// its outcome. The others were interrupted before any deployment existed
// (a build cannot be resumed half-way): they end Failed with a message
// that says whether their tag still needs deploying, never advising to
// deploy what is already live.
func (r *Runner) Recover(ctx context.Context) error {
	all, err := r.opts.Executions.List()
	if err != nil {
		return err
	}
	for i := range all {
		e := &all[i]
		if e.Status != InProgress {
			continue
		}
		at := -1
		for j, st := range r.opts.Stages {
			if run := e.Stage(st.Name); run != nil && run.Status == InProgress {
				at = j
			}
		}
		if at >= 0 && r.opts.Stages[at].Adopt != nil && r.opts.Stages[at].Follow != nil {
			ok, err := r.opts.Stages[at].Adopt(ctx, e)
			if err != nil {
				return err
			}
			if ok {
				// What is followed is persisted before following it.
				if err := r.opts.Executions.Save(e); err != nil {
					return err
				}
				r.mu.Lock()
				r.slots[at].busy = true
				r.adopted = append(r.adopted, adopted{e: e, i: at})
				r.mu.Unlock()
				r.opts.Log.Info("execution adopted after a restart", "execution", e.ID, "stage", r.opts.Stages[at].Name, "deployment", e.DeploymentID)
				continue
			}
		}
		where := "between stages"
		for j := range e.Stages {
			if e.Stages[j].Status == InProgress {
				e.Stages[j].Status, e.Stages[j].End = Failed, r.opts.Now()
				e.Stages[j].Error = "interrupted: canaryflow stopped while this stage ran"
				where = "during " + e.Stages[j].Name
			}
		}
		e.Status, e.End = Failed, r.opts.Now()
		e.Error = r.interruptedMessage(ctx, e, where)
		if err := r.opts.Executions.Save(e); err != nil {
			return err
		}
	}
	return r.prune()
}

// interruptedMessage says what an execution interrupted before it created
// a deployment means: its tag was not deployed by it. It advises running
// the tag again only if production does not serve that version already.
func (r *Runner) interruptedMessage(ctx context.Context, e *Execution, where string) string {
	msg := fmt.Sprintf("interrupted by a restart %s, before any deployment was created: this execution did not deploy %s", where, e.Tag)
	retry := "canaryflow pipeline start --tag " + e.Tag
	if r.opts.Live == nil {
		return fmt.Sprintf("%s; if `canaryflow status` shows production is not on %s, deploy it with: %s", msg, e.Version, retry)
	}
	live, err := r.opts.Live(ctx)
	switch {
	case err != nil:
		return fmt.Sprintf("%s; the live version is unknown (%v): if production is not on %s, deploy it with: %s", msg, err, e.Version, retry)
	case live == e.Version:
		return fmt.Sprintf("%s, but production already serves %s: nothing to run again", msg, live)
	case live == "":
		return fmt.Sprintf("%s (production serves nothing yet); to deploy it: %s", msg, retry)
	default:
		return fmt.Sprintf("%s (production serves %s); to deploy it: %s", msg, live, retry)
	}
}

// Resume follows, in the background, the executions Recover adopted,
// owned by the Runner (Wait waits for them).
func (r *Runner) Resume(ctx context.Context) {
	r.mu.Lock()
	list := r.adopted
	r.adopted = nil
	r.mu.Unlock()
	for _, a := range list {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.opts.Log.Info("execution resumed", "execution", a.e.ID, "tag", a.e.Tag)
			r.runFrom(ctx, a.e, a.i)
		}()
	}
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

func (r *Runner) run(ctx context.Context, e *Execution) { r.runFrom(ctx, e, -1) }

// runFrom runs e's stages; adopted >= 0 is the stage e already holds and
// resumes with the stage's Follow.
func (r *Runner) runFrom(ctx context.Context, e *Execution, adopted int) {
	if r.opts.Mode == ModeQueued {
		select {
		case r.queue <- struct{}{}:
			defer func() { <-r.queue }()
		case <-ctx.Done():
			if adopted >= 0 {
				return // still following what outlives the daemon: the next start adopts it again
			}
			r.finish(e, Stopped, "stopped before it started: canaryflow is shutting down")
			return
		}
	}
	for i, st := range r.opts.Stages {
		if i < adopted {
			continue
		}
		if i == adopted {
			ok := r.runStage(ctx, e, st, st.Follow)
			r.release(i) // Recover took the slot in both modes
			if !ok {
				return
			}
			continue
		}
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
		ok := r.runStage(ctx, e, st, st.Run)
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
func (r *Runner) runStage(ctx context.Context, e *Execution, st Stage, fn func(context.Context, *Execution, io.Writer) error) bool {
	run := e.Stage(st.Name)
	run.Status = InProgress
	if run.Start.IsZero() {
		run.Start = r.opts.Now()
	}
	if err := r.opts.Executions.Save(e); err != nil {
		r.opts.Log.Error("save execution", "execution", e.ID, "err", err)
	}
	r.opts.Log.Info("stage started", "execution", e.ID, "stage", st.Name)
	log := &stageLog{x: r.opts.Executions, e: e, id: e.ID, stage: st.Name, max: r.opts.MaxLogBytes}
	out := stageOutput{Writer: redact.NewWriter(log, r.secret), log: log}
	err := fn(ctx, e, out)
	if cerr := out.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("stage log: %w", cerr)
	}
	if errors.Is(err, ErrLeftRunning) {
		// What the stage waited on outlives this process: the execution
		// stays in progress, and the next start follows it.
		if err := r.opts.Executions.Save(e); err != nil {
			r.opts.Log.Error("save execution", "execution", e.ID, "err", err)
		}
		r.opts.Log.Info("execution left in progress for the next start", "execution", e.ID, "stage", st.Name, "err", err)
		return false
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
