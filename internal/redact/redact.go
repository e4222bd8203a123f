// Package redact keeps secret values out of build logs, stage errors and
// anything else canaryflow stores or shows.
//
// A log is a stream: a secret may reach it split across two writes, across
// two lines, or as a multi-line value (a PEM key). Redaction therefore works
// on the stream, not on lines or single writes: Writer holds back the tail
// of what it was given for as long as that tail could still be the start of
// a secret, and replaces every whole occurrence with Mask.
package redact

import (
	"errors"
	"io"
	"sort"
	"strings"
	"sync"
)

// Mask replaces every secret value.
const Mask = "***"

// MinSecret is the shortest value redacted: a shorter one would mask
// ordinary text all over the log while hiding next to nothing.
const MinSecret = 3

// MinLine is the shortest line of a multi-line secret that is redacted on
// its own. A tool may print such a value one line at a time, or with other
// line endings; its short lines (a PEM's "-----") are not worth masking.
const MinLine = 8

// Secrets is a prepared set of secret values. The zero value and nil
// redact nothing.
type Secrets struct {
	values []string // longest first, so a value containing another wins
	first  [256]bool
}

// New prepares values for redaction. Values shorter than MinSecret are
// ignored. A value with line breaks is also redacted line by line (lines of
// at least MinLine bytes) and with its surrounding white space trimmed.
func New(values ...string) *Secrets {
	seen := map[string]bool{}
	s := &Secrets{}
	add := func(v string) {
		if len(v) >= MinSecret && !seen[v] {
			seen[v] = true
			s.values = append(s.values, v)
			s.first[v[0]] = true
		}
	}
	for _, v := range values {
		add(v)
		add(strings.TrimSpace(v))
		if strings.ContainsAny(v, "\r\n") {
			for _, line := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
				if len(line) >= MinLine {
					add(line)
				}
			}
		}
	}
	sort.SliceStable(s.values, func(i, j int) bool { return len(s.values[i]) > len(s.values[j]) })
	return s
}

// Empty reports whether there is nothing to redact.
func (s *Secrets) Empty() bool { return s == nil || len(s.values) == 0 }

// longest is the length of the longest value.
func (s *Secrets) longest() int {
	if s.Empty() {
		return 0
	}
	return len(s.values[0])
}

// String returns text with every secret value replaced by Mask.
func (s *Secrets) String(text string) string {
	if s.Empty() {
		return text
	}
	out, _ := s.scan(nil, []byte(text), true)
	return string(out)
}

// scan appends buf, redacted, to out. Unless final, it stops at the first
// position where what is left of buf is a proper prefix of a secret and
// returns that tail as rest, to be scanned again with more bytes.
func (s *Secrets) scan(out, buf []byte, final bool) (_, rest []byte) {
	lit := 0 // start of the literal bytes not yet appended
	for i := 0; i < len(buf); {
		if !s.first[buf[i]] {
			i++
			continue
		}
		matched, partial := 0, false
		for _, v := range s.values {
			tail := buf[i:]
			if len(tail) >= len(v) {
				if string(tail[:len(v)]) == v {
					matched = len(v)
					break
				}
			} else if !final && strings.HasPrefix(v, string(tail)) {
				partial = true
				break
			}
		}
		switch {
		case partial:
			return append(out, buf[lit:i]...), buf[i:]
		case matched > 0:
			out = append(append(out, buf[lit:i]...), Mask...)
			i += matched
			lit = i
		default:
			i++
		}
	}
	return append(out, buf[lit:]...), nil
}

// ErrClosed is returned by a Write after Close.
var ErrClosed = errors.New("redact: write after close")

// Writer redacts a stream on its way to another writer. It is safe for
// concurrent use (a command's stdout and stderr, and canaryflow's own
// lines, share one). Close writes the held-back tail.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	s       *Secrets
	pending []byte // at most the longest secret minus one byte
	closed  bool
}

// NewWriter returns a Writer that writes to w with s redacted.
func NewWriter(w io.Writer, s *Secrets) *Writer {
	return &Writer{w: w, s: s}
}

// Write redacts p and writes what can no longer be part of a secret. It
// reports len(p) when the underlying write succeeded.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	if w.s.Empty() {
		return w.w.Write(p)
	}
	buf := append(w.pending, p...)
	out, rest := w.s.scan(make([]byte, 0, len(buf)+len(Mask)), buf, false)
	w.pending = append(make([]byte, 0, w.s.longest()), rest...)
	if len(out) > 0 {
		if _, err := w.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Close writes the held-back tail, redacted; it does not close the
// underlying writer. Later writes fail with ErrClosed.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if len(w.pending) == 0 {
		return nil
	}
	out, _ := w.s.scan(nil, w.pending, true)
	w.pending = nil
	_, err := w.w.Write(out)
	return err
}
