// Package events is the daemon's stream of what happens: pipeline
// executions, deployments, traffic shifts and alarm changes, each a JSON
// event with an ID. A Bus keeps the latest events in memory so a client
// that reconnects with the last ID it saw (Server-Sent Events'
// Last-Event-ID) gets what it missed; Feed turns the store's writes into
// events; Handler serves them as GET /v1/events.
//
// Events are pushed as they happen: Feed wakes at every committed write
// of the store, not on a timer, and a subscriber wakes at every Publish.
package events

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Event types.
const (
	TypeDeployment = "deployment" // a deployment was created or changed
	TypeTraffic    = "traffic"    // a deployment's production split changed
	TypeAlarm      = "alarm"      // a deployment's alarm state changed
	TypePipeline   = "pipeline"   // a pipeline execution was created or changed
	TypeSample     = "sample"     // a reading of a deployment's two sides, for charts (metrics.Sample)
	TypeReset      = "reset"      // the events after the client's last ID are gone: read the state afresh
)

// Event is one thing that happened. ID is "<boot>-<seq>": boot names the
// daemon's run, so an ID from an earlier run is known to be stale.
type Event struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Time time.Time       `json:"time"`
	Data json.RawMessage `json:"data"`
}

// DefaultKeep is how many events a Bus keeps for clients that resume.
const DefaultKeep = 1024

// Bus holds the latest events and wakes their readers. It never blocks a
// publisher on a slow reader: each reader keeps its own position, and one
// that falls further behind than the Bus keeps is told to reset.
type Bus struct {
	boot string
	now  func() time.Time

	mu      sync.Mutex
	seq     uint64  // of the newest event
	ring    []Event // the newest events, ring[(seq-1)%len]
	changed chan struct{}
}

// NewBus returns a bus keeping keep events (zero: DefaultKeep) and
// stamping them with now (zero: time.Now).
func NewBus(keep int, now func() time.Time) *Bus {
	if keep <= 0 {
		keep = DefaultKeep
	}
	if now == nil {
		now = time.Now
	}
	return &Bus{boot: strconv.FormatInt(time.Now().UnixNano(), 36), now: now,
		ring: make([]Event, keep), changed: make(chan struct{})}
}

// Publish adds an event whose data is v as JSON and wakes every reader.
func (b *Bus) Publish(typ string, v any) (Event, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Event{}, fmt.Errorf("event %s: %w", typ, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	ev := Event{ID: b.boot + "-" + strconv.FormatUint(b.seq, 10), Type: typ, Time: b.now().UTC(), Data: data}
	b.ring[(b.seq-1)%uint64(len(b.ring))] = ev
	close(b.changed)
	b.changed = make(chan struct{})
	return ev, nil
}

// Cursor is a reader's position: the sequence number of the last event
// it has.
type Cursor uint64

// Now returns the cursor of the newest event: a reader starting there
// gets only what comes next.
func (b *Bus) Now() Cursor {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Cursor(b.seq)
}

// Resume returns the cursor after the event lastID names. ok is false
// when that event is not this run's (an earlier daemon's, or not an ID
// at all) or is no longer kept: the reader missed events and must read
// the state afresh; the cursor is then Now.
func (b *Bus) Resume(lastID string) (c Cursor, ok bool) {
	boot, seqText, found := strings.Cut(lastID, "-")
	seq, err := strconv.ParseUint(seqText, 10, 64)
	b.mu.Lock()
	defer b.mu.Unlock()
	if !found || err != nil || boot != b.boot || seq > b.seq || b.seq-seq > uint64(len(b.ring)) {
		return Cursor(b.seq), false
	}
	return Cursor(seq), true
}

// Read returns the events after c, the cursor after them, and a channel
// closed at the next Publish. ok is false when some events after c are
// no longer kept (the reader fell behind): events then starts at the
// oldest kept.
func (b *Bus) Read(c Cursor) (events []Event, next Cursor, wake <-chan struct{}, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ok = true
	from := uint64(c)
	if keep := uint64(len(b.ring)); b.seq > keep && from < b.seq-keep {
		from, ok = b.seq-keep, false
	}
	for s := from + 1; s <= b.seq; s++ {
		events = append(events, b.ring[(s-1)%uint64(len(b.ring))])
	}
	return events, Cursor(b.seq), b.changed, ok
}
