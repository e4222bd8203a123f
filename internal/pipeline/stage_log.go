package pipeline

import (
	"fmt"

	"github.com/canaryflow/canaryflow/internal/redact"
)

// Saver is implemented by the log writer a stage receives: Save writes the
// execution as it is now, so an output (such as the deployment ID) is
// visible through the API while the stage still runs.
type Saver interface{ Save() error }

// stageOutput is the writer a stage receives: its output, redacted as a
// stream, goes to the stage's stored log; Save persists the execution.
type stageOutput struct {
	*redact.Writer
	log *stageLog
}

// Save persists the execution now (see Saver).
func (o stageOutput) Save() error { return o.log.Save() }

// stageLog appends a stage's (already redacted) output to the execution's
// stored log, up to max bytes; then one marker line says the log was
// truncated and the rest is dropped, so a build that prints without end
// cannot fill the disk. The stage itself goes on. Its only writer is the
// stage's redact.Writer, which serializes the writes.
type stageLog struct {
	x       *Executions
	e       *Execution
	id      string
	stage   string
	max     int64 // zero: no limit
	written int64
	lastNL  bool // the last byte stored was a newline
	cut     bool
}

// Save persists the execution now.
func (l *stageLog) Save() error { return l.x.Save(l.e) }

func (l *stageLog) Write(p []byte) (int, error) {
	if l.cut || len(p) == 0 {
		return len(p), nil
	}
	keep := p
	if l.max > 0 && l.written+int64(len(p)) > l.max {
		keep = p[:l.max-l.written]
		l.cut = true
	}
	if len(keep) > 0 {
		if err := l.x.AppendLog(l.id, l.stage, keep); err != nil {
			return 0, err
		}
		l.written += int64(len(keep))
		l.lastNL = keep[len(keep)-1] == '\n'
	}
	if l.cut {
		marker := TruncatedMarker(l.max)
		if !l.lastNL && l.written > 0 {
			marker = "\n" + marker
		}
		if err := l.x.AppendLog(l.id, l.stage, []byte(marker)); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// TruncatedMarker is the line that ends a stage log cut at max bytes.
func TruncatedMarker(max int64) string {
	return fmt.Sprintf("[canaryflow] ... log truncated at %s: later output is discarded ...\n", sizeText(max))
}

// sizeText writes a byte count as a person would: 10 MiB, 64 KiB, 1500 bytes.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
