package watchview

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Await is the wait before Watch when the deployment to follow does not
// exist yet, as right after a tag push while the pipeline builds. It looks
// through look every o.Interval (zero: 500ms) on o.Clock until look names
// a deployment, and returns its ID. While look names none it returns a
// note saying what it waits for ("waiting for a deployment…"); each new
// note is printed to w once. Await returns ctx's error when ctx ends
// first, as on Ctrl-C; only o.Interval, o.Clock and o.Changes are used.
func Await(ctx context.Context, w io.Writer, look func(context.Context) (id, note string, err error), o Options) (string, error) {
	clock, every := o.Clock, o.Interval
	if clock == nil {
		clock = wallClock{}
	}
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	last := ""
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		id, note, err := look(ctx)
		if err != nil {
			return "", err
		}
		if id != "" {
			return id, nil
		}
		if note != last {
			fmt.Fprintln(w, note)
			last = note
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-clock.After(every):
		case <-o.Changes:
		}
	}
}
