package server

import (
	"sync"
	"time"

	"github.com/canaryflow/canaryflow/internal/deploy"
)

// testClock is real time plus an offset the test moves forward: short
// waits (health polls, alarm periods) pass as they would, and a 5-minute
// canary interval or termination wait ends the moment the test calls
// Advance. One clock outlives a daemon restart, as the wall clock does.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
	timers map[*testTimer]struct{}
}

func newTestClock() *testClock { return &testClock{timers: map[*testTimer]struct{}{}} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d and fires every timer now due.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	now := time.Now().Add(c.offset)
	var due []*testTimer
	for t := range c.timers {
		if !now.Before(t.deadline) {
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		t.fire()
	}
}

func (c *testClock) NewTimer(d time.Duration) deploy.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &testTimer{c: c, deadline: time.Now().Add(c.offset + d), ch: make(chan time.Time, 1)}
	c.timers[t] = struct{}{}
	t.real = time.AfterFunc(max(d, 0), t.fire)
	return t
}

type testTimer struct {
	c        *testClock
	deadline time.Time
	ch       chan time.Time
	real     *time.Timer
}

// fire delivers the tick once: whichever of the real timer and Advance
// comes first removes the timer from the clock and sends.
func (t *testTimer) fire() {
	t.c.mu.Lock()
	_, pending := t.c.timers[t]
	delete(t.c.timers, t)
	now := time.Now().Add(t.c.offset)
	t.c.mu.Unlock()
	if pending {
		t.ch <- now
	}
}

func (t *testTimer) C() <-chan time.Time { return t.ch }

func (t *testTimer) Stop() bool {
	t.real.Stop()
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	_, pending := t.c.timers[t]
	delete(t.c.timers, t)
	return pending
}
