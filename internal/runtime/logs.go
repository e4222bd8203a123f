package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Logs returns the task's captured stdout and stderr. With follow, reads
// block for new output until the task exits or ctx is done.
func (p *Process) Logs(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	if _, err := p.readRecord(id); err != nil {
		return nil, err
	}
	f, err := os.Open(p.logPath(id))
	if err != nil {
		return nil, fmt.Errorf("logs of task %s: %w", id, err)
	}
	if !follow {
		return f, nil
	}
	return &followReader{ctx: ctx, f: f, running: func() bool {
		t, err := p.Status(ctx, id)
		return err == nil && t.State == StateRunning
	}}, nil
}

// followReader reads a growing file like tail -f: at end of file it waits
// while the task runs, and ends once it has exited and all is read.
type followReader struct {
	ctx     context.Context
	f       *os.File
	running func() bool
}

func (r *followReader) Read(b []byte) (int, error) {
	for {
		n, err := r.f.Read(b)
		if n > 0 || !errors.Is(err, io.EOF) {
			return n, err
		}
		if !r.running() {
			// One last read: output written just before the exit.
			return r.f.Read(b)
		}
		select {
		case <-r.ctx.Done():
			return 0, io.EOF
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (r *followReader) Close() error { return r.f.Close() }
