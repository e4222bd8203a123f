package build

import (
	"context"
	"sync"
	"time"

	"github.com/docker/docker/client"
)

// engineProbe bounds the ping that tells whether a Docker engine answers.
const engineProbe = 2 * time.Second

// Engine opens the Docker engine named by the environment (DOCKER_HOST and
// friends) once, on first use, and keeps the client until Close. The zero
// value is ready to use.
type Engine struct {
	once sync.Once
	cli  *client.Client // nil when no engine answered
}

// Client returns the engine's client, or nil when none answers.
func (e *Engine) Client(ctx context.Context) *client.Client {
	e.once.Do(func() {
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return
		}
		pctx, cancel := context.WithTimeout(ctx, engineProbe)
		defer cancel()
		if _, err := cli.Ping(pctx); err != nil {
			cli.Close()
			return
		}
		e.cli = cli
	})
	return e.cli
}

// Close closes the client, if one was opened.
func (e *Engine) Close() {
	e.once.Do(func() {}) // a later Client opens nothing
	if e.cli != nil {
		e.cli.Close()
	}
}
