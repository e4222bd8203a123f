package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/canaryflow/canaryflow/internal/store"
)

// hookStep runs the hook of a hook event, if one is configured, exactly
// once. The event is saved InProgress before the hook starts; finding it
// InProgress again means canaryflow stopped while the hook ran, and
// since its result is unknown and it must not run twice the event
// becomes Unknown and the deployment fails.
func (r *runner) hookStep(ctx context.Context, event, next string) error {
	d, err := r.update(func(tx *store.Tx, d *Deployment) error { return nil })
	if err != nil {
		return err
	}
	var ev LifecycleEvent
	if err := r.c.opts.Store.View(func(tx *store.Tx) (err error) {
		ev, err = getEvent(tx, d.ID, event)
		return err
	}); err != nil {
		return &storeError{err}
	}
	hook, ok := d.Settings.Hooks[event]
	if !ok {
		_, err := r.update(func(tx *store.Tx, d *Deployment) error {
			d.Step = next
			return r.setEvent(tx, event, EventSucceeded, "")
		})
		return err
	}
	if hook.Name == "" {
		hook.Name = event
	}
	if ev.Status == EventInProgress {
		msg := fmt.Sprintf("hook %s (%s) was running when canaryflow stopped: its outcome is unknown, "+
			"and since each hook runs exactly once it is not run twice; the deployment fails", hook.Name, event)
		if _, err := r.update(func(tx *store.Tx, d *Deployment) error {
			return r.setEvent(tx, event, EventUnknown, msg)
		}); err != nil {
			return err
		}
		return r.failure(d, CodeHookFailure, msg)
	}
	d, err = r.update(func(tx *store.Tx, d *Deployment) error {
		ev.Hook = hook.Name
		ev.Status, ev.Start = EventInProgress, r.now()
		return putEvent(tx, d.ID, ev)
	})
	if err != nil {
		return err
	}
	r.c.log.Info("running hook", "id", d.ID, "event", event, "hook", hook.Name)
	call := HookCall{DeploymentID: d.ID, Service: d.Service, Event: event,
		ExecutionID: fmt.Sprintf("%s-%s", d.ID, event), Revision: d.Revision, Hook: hook}
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.c.opts.Hooks.RunHook(hctx, call) }()
	for {
		w, err := r.watch(ctx, d, time.Time{}, done)
		if w.kind != wakeDone && w.kind != wakeApproved {
			cancel()
			<-done // the hook goroutine is ours: wait for it
		}
		switch {
		case err != nil:
			cancel()
			return err
		case w.kind == wakeApproved:
			d = w.d
			continue
		case w.kind == wakeDone && w.err != nil && ctx.Err() != nil:
			// canaryflow is stopping and the hook's call was cut off with
			// it (both were ready when watch chose): its outcome is
			// unknown, not a failure. The event stays InProgress, which
			// the next start reports as Unknown.
			cancel()
			return ctx.Err()
		case w.kind == wakeDone && w.err == nil:
			cancel()
			_, err := r.update(func(tx *store.Tx, d *Deployment) error {
				d.Step = next
				return r.setEvent(tx, event, EventSucceeded, "")
			})
			return err
		case w.kind == wakeDone:
			cancel()
			return r.failure(d, CodeHookFailure, w.err.Error())
		default:
			cancel()
			return r.interrupted(d, w)
		}
	}
}
