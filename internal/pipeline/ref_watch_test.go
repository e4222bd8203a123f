package pipeline

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// afterCall is one wait the source asked its clock for.
type afterCall struct {
	d  time.Duration
	ch chan time.Time
}

// recordingAfter is a clock for Source.Run whose waits end only when the
// test fires them; each request is handed to the test.
func recordingAfter() (func(time.Duration) <-chan time.Time, chan afterCall) {
	calls := make(chan afterCall, 64)
	return func(d time.Duration) <-chan time.Time {
		ch := make(chan time.Time, 1)
		calls <- afterCall{d, ch}
		return ch
	}, calls
}

// nextWait returns the next wait of length d the source asks for,
// skipping others.
func nextWait(t *testing.T, calls chan afterCall, d time.Duration) afterCall {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case c := <-calls:
			if c.d == d {
				return c
			}
		case <-deadline:
			t.Fatalf("the source never waited %s", d)
		}
	}
}

// TestSourceWatchesLocalRefs: a tag pushed to a repository on this machine
// is polled at the next look at its refs (100ms), not at the next poll
// interval; a look that finds nothing changed runs no poll.
func TestSourceWatchesLocalRefs(t *testing.T) {
	origin, work := remoteRepo(t)
	after, calls := recordingAfter()
	const interval = time.Hour
	src, err := NewSource(SourceOptions{URL: origin, MirrorDir: filepath.Join(t.TempDir(), "m"), Interval: interval, After: after})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Release, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, func(r Release) { got <- r }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})

	// After the baseline poll: one interval wait, and a look at the refs.
	nextWait(t, calls, interval)
	look := nextWait(t, calls, refWatchInterval)
	// Nothing changed: the look only leads to another look, no poll (a
	// poll would start a new interval wait).
	for range 3 {
		look.ch <- time.Now()
		select {
		case look = <-calls:
			if look.d != refWatchInterval {
				t.Fatalf("after a look at unchanged refs the source waits %s, want another look (%s)", look.d, refWatchInterval)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the source stopped looking at the refs")
		}
	}

	gitCmd(t, work, "tag", "v1.0.0")
	gitCmd(t, work, "push", "-q", "origin", "v1.0.0")
	look.ch <- time.Now()
	select {
	case r := <-got:
		if r.Tag != "v1.0.0" {
			t.Fatalf("released %s, want v1.0.0", r.Tag)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("v1.0.0 pushed, refs looked at, but no release")
	}
	nextWait(t, calls, interval) // the poll that found it started a new wait
}

func TestNewRefWatch(t *testing.T) {
	origin, work := remoteRepo(t)
	for _, tc := range []struct {
		url   string
		watch bool
	}{
		{origin, true},
		{"file://" + origin, true},
		{work, true}, // a repository with a .git directory
		{t.TempDir(), false},
		{filepath.Join(t.TempDir(), "missing"), false},
		{"https://github.com/canaryflow/canaryflow.git", false},
		{"git@github.com:canaryflow/canaryflow.git", false},
		{"origin.git", false}, // relative: the daemon makes local paths absolute first
	} {
		if w := newRefWatch(tc.url); (w != nil) != tc.watch {
			t.Errorf("newRefWatch(%q) = %v, want a watch: %v", tc.url, w, tc.watch)
		}
	}
}
