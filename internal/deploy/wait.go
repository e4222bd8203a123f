package deploy

import (
	"context"

	"github.com/canaryflow/canaryflow/internal/store"
)

// update runs fn in a store transaction and, when it commits, tells every
// waiter that the controller's state changed. Every write of the
// controller goes through it, so Wait never misses a change.
func (c *Controller) update(fn func(*store.Tx) error) error {
	err := c.opts.Store.Update(fn)
	if err == nil {
		c.broadcast()
	}
	return err
}

// broadcast wakes everyone waiting on the current change channel.
func (c *Controller) broadcast() {
	c.mu.Lock()
	if c.changed != nil {
		close(c.changed)
	}
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// changes returns a channel closed at the next committed write.
func (c *Controller) changes() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return c.changed
}

// Wait blocks until deployment id reaches a final state (Succeeded,
// Failed or Stopped) and returns it, or returns ctx's error when ctx ends
// first. It is woken by the controller's own writes, not by polling.
func (c *Controller) Wait(ctx context.Context, id string) (Deployment, error) {
	return c.Follow(ctx, id, nil)
}

// Follow is Wait that also calls onChange (when not nil) with the
// deployment as first read and again after every write of the controller,
// so a caller can report progress; a write that changed another
// deployment repeats the same state.
func (c *Controller) Follow(ctx context.Context, id string, onChange func(Deployment)) (Deployment, error) {
	for {
		changed := c.changes() // taken before the read: a write after it closes it
		d, err := c.Get(id)
		if err != nil {
			return Deployment{}, err
		}
		if onChange != nil {
			onChange(*d)
		}
		if d.Done() {
			return *d, nil
		}
		select {
		case <-ctx.Done():
			return *d, ctx.Err()
		case <-changed:
		}
	}
}
