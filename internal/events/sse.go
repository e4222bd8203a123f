package events

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Handler serves the bus as a Server-Sent Events stream (GET
// /v1/events). A client that sends Last-Event-ID gets the events it
// missed first, or a "reset" event when they are gone; without it, the
// stream starts with what happens next. ?types=deployment,traffic keeps
// only those types (reset always comes through).
type Handler struct {
	Bus *Bus
	// Heartbeat is the time between keep-alive comments on a quiet
	// stream. Zero means 15s.
	Heartbeat time.Duration
	// WriteTimeout bounds one write to a slow client. Zero means 30s.
	WriteTimeout time.Duration
	// Done ends every stream when closed: a server's Shutdown waits for
	// its handlers, and a stream would otherwise last until its client
	// leaves. Nil: streams end with their requests only.
	Done <-chan struct{}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	heartbeat, writeTimeout := h.Heartbeat, h.WriteTimeout
	if heartbeat == 0 {
		heartbeat = 15 * time.Second
	}
	if writeTimeout == 0 {
		writeTimeout = 30 * time.Second
	}
	var only map[string]bool
	if t := r.URL.Query().Get("types"); t != "" {
		only = map[string]bool{TypeReset: true}
		for _, name := range strings.Split(t, ",") {
			only[strings.TrimSpace(name)] = true
		}
	}
	cur, ok := h.Bus.Now(), true
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		cur, ok = h.Bus.Resume(last)
	}
	rc := http.NewResponseController(w)
	defer rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(text string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := fmt.Fprint(w, text); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The first bytes tell the client it is subscribed: whatever is
	// published from here on reaches it.
	if !send("retry: 1000\n: subscribed\n\n") {
		return
	}
	if !ok && !send(frame(Event{ID: "", Type: TypeReset, Data: []byte("{}")})) {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		evs, next, wake, kept := h.Bus.Read(cur)
		if !kept && !send(frame(Event{Type: TypeReset, Data: []byte("{}")})) {
			return
		}
		var b strings.Builder
		for _, ev := range evs {
			if only == nil || only[ev.Type] {
				b.WriteString(frame(ev))
			}
		}
		if b.Len() > 0 && !send(b.String()) {
			return
		}
		cur = next
		select {
		case <-r.Context().Done():
			return
		case <-h.Done:
			return
		case <-wake:
		case <-tick.C:
			if !send(": keep-alive\n\n") {
				return
			}
		}
	}
}

// frame is one event in the text/event-stream format. Data is JSON on
// one line, so it needs no splitting.
func frame(ev Event) string {
	var b strings.Builder
	if ev.ID != "" {
		fmt.Fprintf(&b, "id: %s\n", ev.ID)
	}
	data, err := json.Marshal(ev)
	if err != nil { // Data was not JSON: say so rather than send it
		data, _ = json.Marshal(Event{ID: ev.ID, Type: ev.Type, Time: ev.Time, Data: json.RawMessage(`{"error":"unencodable"}`)})
	}
	fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", ev.Type, data)
	return b.String()
}
