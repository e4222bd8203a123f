package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/runtime"
)

// labelTask carries the controller's task ID, by which a restarted daemon
// finds (adopts) the task again.
const labelTask = "canaryflow.task"

// runtimeTasks adapts a runtime.Runtime to deploy.Runtime.
type runtimeTasks struct {
	rt runtime.Runtime
}

// find returns the running task with the controller's ID, if any.
func (r *runtimeTasks) find(ctx context.Context, id string) (*runtime.Task, error) {
	tasks, err := r.rt.List(ctx, map[string]string{labelTask: id})
	if err != nil {
		return nil, fmt.Errorf("list task %s: %w", id, err)
	}
	for i := range tasks {
		if tasks[i].State == runtime.StateRunning {
			return &tasks[i], nil
		}
	}
	return nil, nil
}

// Start adopts the task if it already runs, else starts it.
func (r *runtimeTasks) Start(ctx context.Context, spec deploy.TaskSpec) (deploy.Task, error) {
	if t, err := r.find(ctx, spec.ID); err != nil {
		return deploy.Task{}, err
	} else if t != nil {
		return deploy.Task{ID: spec.ID, Endpoint: t.Addr, Running: true}, nil
	}
	rev := spec.Revision
	ts := runtime.TaskSpec{
		Image:         rev.Image,
		Env:           rev.Env,
		ContainerPort: rev.Port,
		Service:       rev.Service,
		TaskSet:       spec.TaskSet,
		Revision:      strconv.Itoa(rev.Number),
		Labels:        map[string]string{labelTask: spec.ID},
	}
	for attempt := 1; ; attempt++ {
		t, err := r.rt.Start(ctx, ts)
		if err == nil {
			return deploy.Task{ID: spec.ID, Endpoint: t.Addr, Running: true}, nil
		}
		// "text file busy": a binary just unpacked is still open for
		// writing in a child another goroutine forked at that moment
		// (golang/go#22315). It passes within milliseconds; anything else
		// fails the start at once.
		if !errors.Is(err, syscall.ETXTBSY) || attempt == startAttempts {
			return deploy.Task{}, err
		}
		select {
		case <-ctx.Done():
			return deploy.Task{}, ctx.Err()
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
}

// startAttempts bounds the retries of a start that failed with ETXTBSY.
const startAttempts = 5

// Stop stops every task with the controller's ID and removes its record
// (container or state file): a retired task set leaves nothing behind.
func (r *runtimeTasks) Stop(ctx context.Context, id string, grace time.Duration) error {
	tasks, err := r.rt.List(ctx, map[string]string{labelTask: id})
	if err != nil {
		return fmt.Errorf("list task %s: %w", id, err)
	}
	for _, t := range tasks {
		if t.State == runtime.StateRunning {
			if err := r.rt.Stop(ctx, t.ID, grace); err != nil {
				return err
			}
		}
		if err := r.rt.Remove(ctx, t.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			return fmt.Errorf("remove task %s: %w", id, err)
		}
	}
	return nil
}

// Inspect reports the task with the controller's ID.
func (r *runtimeTasks) Inspect(ctx context.Context, id string) (deploy.Task, error) {
	t, err := r.find(ctx, id)
	if err != nil {
		return deploy.Task{}, err
	}
	if t == nil {
		return deploy.Task{}, fmt.Errorf("task %s: %w", id, deploy.ErrTaskNotFound)
	}
	return deploy.Task{ID: id, Endpoint: t.Addr, Running: true}, nil
}
