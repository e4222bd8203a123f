package cli

import (
	"context"
	"time"

	"github.com/canaryflow/canaryflow/internal/server"
)

// counterRefresh is how often `deploy status --watch` reads the traffic
// counters while the daemon's event stream tells it of every other change.
const counterRefresh = 2 * time.Second

// daemonChanges subscribes to the daemon's event stream and sends a value
// (dropped when one is already waiting) at each event, until ctx ends. It
// returns nil when the daemon has no stream: the watch then looks at its
// interval alone.
func daemonChanges(ctx context.Context, c *server.Client) <-chan struct{} {
	dec, body, err := c.Events(ctx, "")
	if err != nil {
		return nil
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer body.Close()
		for {
			if _, err := dec.Next(); err != nil {
				return
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	return ch
}
