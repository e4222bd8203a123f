package watchview

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Clock is the time Watch reads and waits on; tests pass a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options choose how Watch prints.
type Options struct {
	// JSON prints the deployment (its Raw form when set) as one JSON line
	// per change and once at the end.
	JSON bool
	// Redraw clears the screen and renders the whole view on every look
	// (for a terminal). False prints a timestamped Summary line per change
	// and the whole view once at the end.
	Redraw bool
	// Interval is the time between looks. Zero means 500ms.
	Interval time.Duration
	// Clock times the looks. Nil means the wall clock.
	Clock Clock
	// Changes, when set, receives a value at each change the daemon
	// pushes (its event stream): Watch and Await look at once instead of
	// at the next interval. The interval still refreshes what no event
	// announces, the traffic counters.
	Changes <-chan struct{}
}

// NotSucceededError is Watch's answer for a deployment that ended any
// other way than successfully.
type NotSucceededError struct {
	ID, Status string
}

func (e *NotSucceededError) Error() string {
	return fmt.Sprintf("deployment %s %s", e.ID, strings.ToLower(e.Status))
}

// Watch looks at a deployment through get every interval until it is
// done, printing it to w as o says. It returns nil when the deployment
// succeeded and a *NotSucceededError when it failed or was stopped.
func Watch(ctx context.Context, w io.Writer, get func(context.Context) (*Deployment, error), o Options) error {
	clock, every := o.Clock, o.Interval
	if clock == nil {
		clock = wallClock{}
	}
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	var prev *Deployment
	var prevAt time.Time
	last := ""
	for {
		d, err := get(ctx)
		if err != nil {
			return err
		}
		now := clock.Now()
		if d.Now.IsZero() {
			d.Now = now
		}
		line := Summary(d)
		switch {
		case o.JSON:
			if line != last || d.Done {
				var v any = d
				if d.Raw != nil {
					v = d.Raw
				}
				data, _ := json.Marshal(v)
				fmt.Fprintln(w, string(data))
			}
		case o.Redraw:
			fmt.Fprint(w, "\033[H\033[2J")
			Render(w, d, prev, now.Sub(prevAt))
		default:
			if line != last {
				fmt.Fprintln(w, now.Format("15:04:05"), line)
			}
		}
		last, prev, prevAt = line, d, now
		if d.Done {
			if !o.Redraw && !o.JSON {
				Render(w, d, nil, 0)
			}
			if !d.Succeeded {
				return &NotSucceededError{ID: d.ID, Status: d.Status}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-clock.After(every):
		case <-o.Changes:
		}
	}
}
