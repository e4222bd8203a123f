// Package deploy is canaryflow's deployment controller: a blue/green
// rollout with CodeDeploy's lifecycle, statuses and rollback rules, done
// locally. It starts the replacement (green) task set, runs the hooks,
// opens the test listener, shifts production traffic by the configured
// steps, watches alarms, and rolls back by itself.
//
// Every transition is saved to the Store before it is acted on, so a
// controller built over the same file after a crash resumes (or rolls
// back) every deployment in flight. The package imports no adapter: the
// router, the runtime and the clock come in through the small interfaces
// in ports.go.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/canaryflow/canaryflow/internal/store"
)

// Errors the controller returns; match them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	// ErrActive means the service already has a deployment in progress.
	ErrActive = errors.New("a deployment is already in progress")
	// ErrNotWaiting means Approve was called on a deployment that is not
	// in its ready wait.
	ErrNotWaiting = errors.New("deployment is not waiting for approval")
	// ErrFinished means the deployment already reached a final status.
	ErrFinished = errors.New("deployment already finished")
	// ErrNothingToPromote means Promote was called on a deployment whose
	// production traffic has already all moved to green.
	ErrNothingToPromote = errors.New("all production traffic is already on green")
	// ErrNoPrevious means there is no earlier good revision to roll back to.
	ErrNoPrevious = errors.New("no previous good revision")
)

// ActiveError is returned when a service already has an active
// deployment; it wraps ErrActive and names the deployment.
type ActiveError struct {
	Service string
	ID      string
}

func (e *ActiveError) Error() string {
	return fmt.Sprintf("service %s: %v: %s (wait for it, stop it, or create with queueing)", e.Service, ErrActive, e.ID)
}

func (e *ActiveError) Unwrap() error { return ErrActive }

// Options configure a Controller. Store, Traffic and Runtime are required.
type Options struct {
	Store   Store
	Traffic Traffic
	Runtime Runtime
	// Hooks runs hooks; zero means a HookExecutor with default settings.
	Hooks HookRunner
	// Clock tells time and makes timers; zero means the system clock.
	Clock Clock
	// Logger receives the controller's logs; zero discards them.
	Logger *slog.Logger
	// PollInterval is how often Install checks green's health. Zero means
	// 50ms: the local router checks a new target every 250ms until it
	// first passes, from its registration, and a poll on that same beat
	// would find it healthy a beat late.
	PollInterval time.Duration
	// RestoreWait bounds how long Restore waits for the restored targets'
	// first health checks to pass. Zero means 2s.
	RestoreWait time.Duration
}

// Validate reports a missing required field.
func (o Options) Validate() error {
	switch {
	case o.Store == nil:
		return errors.New("deploy options: Store is required")
	case o.Traffic == nil:
		return errors.New("deploy options: Traffic is required")
	case o.Runtime == nil:
		return errors.New("deploy options: Runtime is required")
	}
	return nil
}

// Controller runs deployments. Create one with New, call Restore before
// the router accepts traffic, then Start; Close stops it.
type Controller struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	runners map[string]chan struct{} // deployment ID → wake-up signal
	changed chan struct{}            // closed at the next committed write (see Wait); nil until first wanted
	wg      sync.WaitGroup
}

// New builds a controller.
func New(opts Options) (*Controller, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Hooks == nil {
		opts.Hooks = &HookExecutor{}
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 50 * time.Millisecond
	}
	if opts.RestoreWait == 0 {
		opts.RestoreWait = 2 * time.Second
	}
	return &Controller{opts: opts, log: opts.Logger, runners: map[string]chan struct{}{}}, nil
}

// Restore puts the router back as the store says it was: every task set
// that serves or is being deployed has its tasks adopted (or restarted)
// and registered, and every service's weights and test listener are set.
// A target the router has just registered serves no request until its
// first health check passes, so Restore then waits (at most RestoreWait)
// for every restored target to be healthy: a restart does not open the
// listeners onto "no healthy target". Call it before the router accepts
// traffic.
func (c *Controller) Restore(ctx context.Context) error {
	var all []Weights
	err := c.opts.Store.View(func(tx *store.Tx) error {
		var err error
		all, err = store.List[Weights](tx, store.Weights, "")
		return err
	})
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for _, w := range all {
		// Weights first: a router adapter learns from them which task set
		// is blue; the router takes no traffic until Restore returns.
		if err := c.opts.Traffic.SetWeights(ctx, w); err != nil {
			return fmt.Errorf("restore %s weights: %w", w.Service, err)
		}
		for _, id := range []string{w.Blue, w.Green} {
			if id == "" {
				continue
			}
			if err := c.ensureTaskSet(ctx, w.Service, id); err != nil {
				return fmt.Errorf("restore %s: %w", w.Service, err)
			}
		}
		if w.Test != "" {
			if err := c.opts.Traffic.SetTestTarget(ctx, w.Service, w.Test); err != nil {
				return fmt.Errorf("restore %s test listener: %w", w.Service, err)
			}
		}
		c.log.Info("restored traffic", "service", w.Service, "blue", w.Blue, "green", w.Green, "greenPercent", w.GreenPercent)
	}
	return c.awaitRestored(ctx, all)
}

// awaitRestored waits until every target of the restored task sets is
// healthy, or RestoreWait has passed; the ones still unhealthy then are
// logged and left to the alarms and the running deployments.
func (c *Controller) awaitRestored(ctx context.Context, all []Weights) error {
	deadline := c.opts.Clock.Now().Add(c.opts.RestoreWait)
	for _, w := range all {
		for _, id := range []string{w.Blue, w.Green} {
			if id == "" {
				continue
			}
			var ts *TaskSet
			if err := c.opts.Store.View(func(tx *store.Tx) (err error) {
				ts, err = getTaskSet(tx, w.Service, id)
				return err
			}); err != nil {
				return fmt.Errorf("restore %s: %w", w.Service, err)
			}
			for {
				m, err := c.opts.Traffic.Metrics(ctx, w.Service, id)
				if err == nil && m.Healthy >= len(ts.Tasks) {
					break
				}
				if !c.opts.Clock.Now().Before(deadline) {
					c.log.Warn("restored targets not healthy yet", "service", w.Service, "taskSet", id,
						"healthy", m.Healthy, "tasks", len(ts.Tasks), "waited", c.opts.RestoreWait)
					break
				}
				t := c.opts.Clock.NewTimer(20 * time.Millisecond)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C():
				}
			}
		}
	}
	return nil
}

// Start resumes every deployment in flight and starts queued ones whose
// service is free. Deployments run until ctx is done or Close is called.
func (c *Controller) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.ctx != nil {
		c.mu.Unlock()
		return errors.New("deploy controller already started")
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.mu.Unlock()
	var all []Deployment
	err := c.opts.Store.View(func(tx *store.Tx) error {
		var err error
		all, err = listDeployments(tx, "")
		return err
	})
	if err != nil {
		return fmt.Errorf("start deploy controller: %w", err)
	}
	services := map[string]bool{}
	for _, d := range all {
		if d.Active() {
			services[d.Service] = true
			c.log.Info("resuming deployment", "id", d.ID, "service", d.Service, "step", d.Step)
			c.spawn(d.ID)
		}
	}
	for _, d := range all {
		if d.Status == StatusQueued && !services[d.Service] {
			services[d.Service] = true
			c.startNextQueued(d.Service)
		}
	}
	return nil
}

// Close stops every deployment goroutine and waits for them. Deployments
// stay as saved and resume at the next Start.
func (c *Controller) Close() {
	c.mu.Lock()
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// spawn starts the goroutine that runs deployment id.
func (c *Controller) spawn(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil || c.ctx.Err() != nil {
		return // not started, or closing: Start will resume it
	}
	if _, ok := c.runners[id]; ok {
		return
	}
	sig := make(chan struct{}, 1)
	c.runners[id] = sig
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.run(c.ctx, id, sig)
		c.mu.Lock()
		delete(c.runners, id)
		c.mu.Unlock()
	}()
}

// wake tells a running deployment to re-read its record.
func (c *Controller) wake(id string) {
	c.mu.Lock()
	sig := c.runners[id]
	c.mu.Unlock()
	if sig != nil {
		select {
		case sig <- struct{}{}:
		default:
		}
	}
}

// RegisterRevision stores a new revision of a service and returns it with
// its number.
func (c *Controller) RegisterRevision(ctx context.Context, rev Revision) (Revision, error) {
	if rev.Service == "" || rev.Image == "" || rev.Port < 1 || rev.Port > 65535 {
		return rev, fmt.Errorf("register revision: service, image and port are required")
	}
	err := c.update(func(tx *store.Tx) error {
		n, err := tx.NextSeq("revision/" + rev.Service)
		if err != nil {
			return err
		}
		rev.Number = int(n)
		rev.Created = c.opts.Clock.Now().UTC()
		return tx.Put(store.Revisions, revisionKey(rev.Service, rev.Number), rev)
	})
	if err != nil {
		return rev, fmt.Errorf("register revision of %s: %w", rev.Service, err)
	}
	return rev, nil
}

// Revision returns a stored revision.
func (c *Controller) Revision(service string, n int) (*Revision, error) {
	var r *Revision
	err := c.opts.Store.View(func(tx *store.Tx) (err error) {
		r, err = getRevision(tx, service, n)
		return err
	})
	return r, err
}

// CreateRequest asks for a deployment of a registered revision.
type CreateRequest struct {
	Service  string
	Revision int
	Settings Settings
	// Queue waits behind an active deployment instead of refusing.
	Queue bool
	// Creator is recorded on the deployment ("user" when zero).
	Creator string
}

// Create records a deployment and starts it, or queues it when asked to
// and the service is busy. Without Queue a busy service is refused with
// an *ActiveError.
func (c *Controller) Create(ctx context.Context, req CreateRequest) (*Deployment, error) {
	req.Settings.applyDefaults()
	if err := req.Settings.Strategy.Validate(); err != nil {
		return nil, fmt.Errorf("create deployment: %w", err)
	}
	if req.Creator == "" {
		req.Creator = "user"
	}
	var d *Deployment
	err := c.update(func(tx *store.Tx) error {
		if _, err := getRevision(tx, req.Service, req.Revision); err != nil {
			return err
		}
		all, err := listDeployments(tx, req.Service)
		if err != nil {
			return err
		}
		busy := ""
		for _, o := range all {
			if !o.Done() {
				busy = o.ID
				if o.Active() {
					break
				}
			}
		}
		if busy != "" && !req.Queue {
			return &ActiveError{Service: req.Service, ID: busy}
		}
		n, err := tx.NextSeq("deployment")
		if err != nil {
			return err
		}
		d = &Deployment{
			ID: fmt.Sprintf("d-%06d", n), Service: req.Service, Revision: req.Revision,
			Status: StatusCreated, Step: EventBeforeInstall, Settings: req.Settings,
			Creator: req.Creator, Created: c.opts.Clock.Now().UTC(),
		}
		if busy != "" {
			d.Status = StatusQueued
		} else if err := c.claimService(tx, d); err != nil {
			return err
		}
		for _, name := range LifecycleEventNames() {
			if err := putEvent(tx, d.ID, LifecycleEvent{Name: name, Status: EventPending}); err != nil {
				return err
			}
		}
		return putDeployment(tx, d)
	})
	if err != nil {
		return nil, fmt.Errorf("create deployment of %s:%d: %w", req.Service, req.Revision, err)
	}
	c.log.Info("deployment created", "id", d.ID, "service", d.Service, "revision", d.Revision, "status", d.Status)
	if d.Status == StatusCreated {
		c.spawn(d.ID)
	}
	return d, nil
}

// claimService fixes what a starting deployment replaces: the live task
// set becomes its blue and the live revision its rollback target.
func (c *Controller) claimService(tx *store.Tx, d *Deployment) error {
	blue, err := primaryTaskSet(tx, d.Service)
	if err != nil {
		return err
	}
	if blue != nil {
		d.BlueTaskSet, d.PreviousRevision = blue.ID, blue.Revision
	}
	return nil
}

// startNextQueued starts the oldest queued deployment of service, if any.
func (c *Controller) startNextQueued(service string) {
	var next string
	err := c.update(func(tx *store.Tx) error {
		all, err := listDeployments(tx, service)
		if err != nil {
			return err
		}
		for i := range all {
			if all[i].Active() {
				return nil
			}
		}
		for i := range all {
			d := &all[i]
			if d.Status == StatusQueued {
				d.Status = StatusCreated
				if err := c.claimService(tx, d); err != nil {
					return err
				}
				next = d.ID
				return putDeployment(tx, d)
			}
		}
		return nil
	})
	if err != nil {
		c.log.Error("start queued deployment", "service", service, "err", err)
		return
	}
	if next != "" {
		c.log.Info("starting queued deployment", "id", next, "service", service)
		c.spawn(next)
	}
}
