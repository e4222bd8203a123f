package watchview

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestAwait: each new note is printed once, looks are spaced by the
// interval on the clock, and the first ID ends the wait.
func TestAwait(t *testing.T) {
	looks := []struct{ id, note string }{
		{"", "waiting for a deployment… e-1: Source"},
		{"", "waiting for a deployment… e-1: Build"},
		{"", "waiting for a deployment… e-1: Build"},
		{"d-2", ""},
	}
	i := 0
	look := func(context.Context) (string, string, error) { i++; return looks[i-1].id, looks[i-1].note, nil }
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var b bytes.Buffer
	id, err := Await(context.Background(), &b, look, Options{Interval: 2 * time.Second, Clock: clock})
	if err != nil || id != "d-2" {
		t.Fatalf("Await = %q, %v; want d-2", id, err)
	}
	want := "waiting for a deployment… e-1: Source\nwaiting for a deployment… e-1: Build\n"
	if b.String() != want || clock.waits != 3 || !clock.now.Equal(time.Date(2026, 1, 2, 3, 4, 11, 0, time.UTC)) {
		t.Errorf("printed %q after %d waits (now %s), want %q after 3", b.String(), clock.waits, clock.now, want)
	}
}

// stoppedClock never fires: only the context can end a wait on it.
type stoppedClock struct{}

func (stoppedClock) Now() time.Time                       { return time.Time{} }
func (stoppedClock) After(time.Duration) <-chan time.Time { return nil }

// TestAwaitCanceled: Ctrl-C (the context ending) stops a wait that would
// otherwise last for ever, with the context's error.
func TestAwaitCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	look := func(context.Context) (string, string, error) { cancel(); return "", "waiting for a deployment…", nil }
	var b bytes.Buffer
	id, err := Await(ctx, &b, look, Options{Clock: stoppedClock{}})
	if !errors.Is(err, context.Canceled) || id != "" || b.String() != "waiting for a deployment…\n" {
		t.Errorf("Await = %q, %v, printed %q; want context.Canceled after one note", id, err, b.String())
	}
	// A look that fails ends the wait with its error.
	boom := errors.New("daemon gone")
	if _, err := Await(context.Background(), &b, func(context.Context) (string, string, error) { return "", "", boom }, Options{Clock: stoppedClock{}}); !errors.Is(err, boom) {
		t.Errorf("Await with a failing look = %v", err)
	}
}

// TestWatchWakesOnChanges: with a change stream, Watch looks again at each
// change though its clock never fires: the daemon's events drive it.
func TestWatchWakesOnChanges(t *testing.T) {
	changes := make(chan struct{})
	states := []*Deployment{look("InProgress", "Install", 0, false, false), look("InProgress", "AllowTraffic", 10, false, false),
		look("Succeeded", "Done", 100, true, true)}
	looks := 0
	get := func(context.Context) (*Deployment, error) {
		d := states[min(looks, len(states)-1)]
		looks++
		return d, nil
	}
	done := make(chan error, 1)
	var b bytes.Buffer
	go func() { done <- Watch(context.Background(), &b, get, Options{Clock: stoppedClock{}, Changes: changes}) }()
	changes <- struct{}{} // each send is taken only by a Watch waiting for the next change
	changes <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if looks != 3 || !strings.Contains(b.String(), "green=10%") || !strings.Contains(b.String(), "Succeeded") {
		t.Errorf("%d looks:\n%s", looks, b.String())
	}
}
