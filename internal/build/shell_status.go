package build

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"strconv"
	"sync"
)

// statusWriter passes a build shell's output on to out and takes out of it
// the status the shell prints after each command: mark, the exit code and
// a newline. The status travels in the same pipe as the command's output,
// so everything a command printed has reached the log before the runner
// hears that it ended and writes its next line. (A status on a pipe of its
// own could overtake the output: a secret printed in two halves then had
// the runner's next line between them, and redaction could not see it.)
type statusWriter struct {
	out   io.Writer
	mark  []byte   // "\x1e" + a random nonce + ":"
	codes chan int // exit codes, in order; one command runs at a time

	mu   sync.Mutex
	held []byte // bytes that may be the start of a status
}

func newStatusWriter(out io.Writer) *statusWriter {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	return &statusWriter{
		out:   out,
		mark:  []byte("\x1e" + hex.EncodeToString(nonce[:]) + ":"),
		codes: make(chan int, 1),
	}
}

// printStatus is the shell code that prints the last command's status.
func (w *statusWriter) printStatus() string {
	return `printf '\036%s:%d\n' '` + string(w.mark[1:len(w.mark)-1]) + `' "$?" >&3`
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.held = append(w.held, p...)
	for {
		i := bytes.Index(w.held, w.mark)
		if i < 0 {
			break
		}
		end := bytes.IndexByte(w.held[i+len(w.mark):], '\n')
		if end < 0 { // the status is not complete yet
			err := w.pass(i)
			return len(p), err
		}
		if err := w.pass(i); err != nil {
			return len(p), err
		}
		digits := w.held[len(w.mark) : len(w.mark)+end]
		if code, err := strconv.Atoi(string(digits)); err == nil {
			select {
			case w.codes <- code:
			default: // nobody asked: a command printed a status of its own
			}
		}
		w.held = w.held[len(w.mark)+end+1:]
	}
	// Keep back a tail that may be the start of a mark.
	keep := 0
	for k := min(len(w.mark)-1, len(w.held)); k > 0; k-- {
		if bytes.HasSuffix(w.held, w.mark[:k]) {
			keep = k
			break
		}
	}
	return len(p), w.pass(len(w.held) - keep)
}

// pass writes the first n held bytes to out.
func (w *statusWriter) pass(n int) error {
	if n == 0 {
		return nil
	}
	_, err := w.out.Write(w.held[:n])
	w.held = append(w.held[:0], w.held[n:]...)
	return err
}

// flush writes what is held back; the shell has ended.
func (w *statusWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.pass(len(w.held))
}
