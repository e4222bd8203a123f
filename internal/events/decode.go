package events

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxFrame bounds one event's text as a Decoder reads it.
const MaxFrame = 1 << 20

// Decoder reads the events of a text/event-stream, as GET /v1/events
// writes them: each frame's data line is an Event in JSON.
type Decoder struct {
	r *bufio.Reader
}

// NewDecoder reads events from r.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{r: bufio.NewReaderSize(r, 64<<10)} }

// ErrFrame is a frame that is not an event as the daemon sends them.
var ErrFrame = errors.New("event stream: bad frame")

// Next returns the next event; comments and retry lines are skipped. It
// returns io.EOF at the end of the stream.
func (d *Decoder) Next() (Event, error) {
	var data strings.Builder
	size := 0
	for {
		line, err := d.r.ReadString('\n')
		size += len(line)
		if size > MaxFrame {
			return Event{}, fmt.Errorf("%w: longer than %d bytes", ErrFrame, MaxFrame)
		}
		if err != nil {
			if err == io.EOF && (line != "" || data.Len() > 0) {
				err = io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if data.Len() == 0 {
				size = 0
				continue // a comment-only frame
			}
			var ev Event
			if err := json.Unmarshal([]byte(data.String()), &ev); err != nil {
				return Event{}, fmt.Errorf("%w: %v", ErrFrame, err)
			}
			if ev.Type == "" {
				return Event{}, fmt.Errorf("%w: no type", ErrFrame)
			}
			return ev, nil
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
		// id:, event:, retry: and comments: the JSON says it all.
	}
}
