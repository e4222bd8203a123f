package deploy

import (
	"context"
	"errors"
	"time"
)

// Traffic is what the controller needs from the router. A target group
// has the ID of the task set whose tasks it holds.
type Traffic interface {
	// Register sets a target group's targets (host:port endpoints),
	// creating the group if needed. Calling it again with the same
	// endpoints changes nothing.
	Register(ctx context.Context, service, targetGroup string, endpoints []string) error
	// Deregister drains a target group's connections and removes it.
	// Removing a group that does not exist is not an error.
	Deregister(ctx context.Context, service, targetGroup string) error
	// SetWeights sets the production listener's split in one atomic change.
	SetWeights(ctx context.Context, w Weights) error
	// SetTestTarget points the service's test listener at a target group.
	SetTestTarget(ctx context.Context, service, targetGroup string) error
	// Metrics reads a target group's cumulative counters and health.
	Metrics(ctx context.Context, service, targetGroup string) (Metrics, error)
}

// TaskSpec is one task to start: its ID (chosen and saved by the
// controller before it starts) and the revision it runs.
type TaskSpec struct {
	ID       string
	TaskSet  string
	Revision Revision
}

// ErrTaskNotFound is returned by Runtime.Inspect for a task the runtime
// does not know, such as one lost with a machine restart.
var ErrTaskNotFound = errors.New("task not found")

// Runtime is what the controller needs from a task runtime.
type Runtime interface {
	// Start starts the task, or adopts it if a task with that ID already
	// runs, and returns it with its endpoint.
	Start(ctx context.Context, spec TaskSpec) (Task, error)
	// Stop asks the task to stop, killing it after grace. Stopping a task
	// that is gone is not an error.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Inspect reports whether the task runs and where; ErrTaskNotFound if
	// the runtime does not know it.
	Inspect(ctx context.Context, id string) (Task, error)
}

// Clock is the controller's time. Tests give it a fake, or run under
// testing/synctest with the real one.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a stoppable one-shot timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// SystemClock is the wall clock, for a part that takes a Clock and was
// given none.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time                 { return time.Now() }
func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }
