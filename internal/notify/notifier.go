package notify

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/events"
	"github.com/canaryflow/canaryflow/internal/store"
)

// Options configure a Notifier. Store and Bus are required.
type Options struct {
	Store   *store.Store
	Bus     *events.Bus
	Targets []Target
	// Clock times the retries. Zero: the wall clock.
	Clock deploy.Clock
	// HTTP posts the notifications. Zero: a client that follows no
	// redirect (a receiver answers, it does not send us elsewhere).
	HTTP *http.Client
	// Timeout bounds one attempt. Zero means 10s.
	Timeout time.Duration
	// MaxAttempts is when a notification is given up. Zero means 20
	// (about a day of backoff).
	MaxAttempts int
	Logger      *slog.Logger
}

// Backoff is the wait before attempt n+1 after n failed: 1s, 2s, 4s, …
// up to two hours.
func Backoff(n int) time.Duration {
	d := time.Second << min(max(n-1, 0), 13)
	return min(d, 2*time.Hour)
}

// delivery is one notification for one target, as the outbox keeps it.
type delivery struct {
	ID          string    `json:"id"`
	Message     string    `json:"message"` // Message.ID
	Kind        string    `json:"kind"`
	URL         string    `json:"url"`
	Format      string    `json:"format"`
	Body        []byte    `json:"body"`
	ContentType string    `json:"contentType"`
	Attempts    int       `json:"attempts"`
	NextAt      time.Time `json:"nextAt"`
	LastError   string    `json:"lastError,omitempty"`
}

// Notifier turns the bus's events into deliveries and delivers them.
type Notifier struct {
	o    Options
	log  *slog.Logger
	cur  events.Cursor
	poke chan struct{}
}

// New returns a notifier that reads the bus from now on: build it before
// the events it must see are published.
func New(o Options) *Notifier {
	if o.Clock == nil {
		o.Clock = deploy.SystemClock()
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 20
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Notifier{o: o, log: log, cur: o.Bus.Now(), poke: make(chan struct{}, 1)}
}

// Run queues and delivers until ctx ends; what is left in the outbox is
// delivered by the next Run over the same store.
func (n *Notifier) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() { defer close(done); n.deliver(ctx) }()
	n.read(ctx)
	<-done
}

// read queues a delivery per event and target that wants it.
func (n *Notifier) read(ctx context.Context) {
	for {
		evs, next, wake, ok := n.o.Bus.Read(n.cur)
		if !ok {
			n.log.Warn("notifications fell behind the event stream; some events were not looked at")
		}
		n.cur = next
		queued := false
		for _, ev := range evs {
			for _, m := range Classify(ev) {
				for _, t := range n.o.Targets {
					if !t.wants(m.Kind) {
						continue
					}
					if err := n.enqueue(t, m); err != nil {
						n.log.Error("queue notification", "kind", m.Kind, "target", t.Host(), "err", err)
						continue
					}
					queued = true
				}
			}
		}
		if queued {
			select {
			case n.poke <- struct{}{}:
			default:
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
	}
}

func (n *Notifier) enqueue(t Target, m Message) error {
	body, ct, err := Body(t.Format, m)
	if err != nil {
		return err
	}
	return n.o.Store.Update(func(tx *store.Tx) error {
		seq, err := tx.NextSeq("outbox")
		if err != nil {
			return err
		}
		d := delivery{ID: fmt.Sprintf("n-%09d", seq), Message: m.ID, Kind: m.Kind, URL: t.URL, Format: t.Format,
			Body: body, ContentType: ct, NextAt: n.o.Clock.Now()}
		return tx.Put(store.Outbox, d.ID, d)
	})
}

// deliver sends what is due, oldest first, then sleeps until the next is
// due or a new one is queued.
func (n *Notifier) deliver(ctx context.Context) {
	for {
		var all []delivery
		err := n.o.Store.View(func(tx *store.Tx) (err error) {
			all, err = store.List[delivery](tx, store.Outbox, "n-")
			return err
		})
		if err != nil {
			n.log.Error("read the notification outbox", "err", err)
		}
		var next time.Time
		tried := false
		for _, d := range all {
			if ctx.Err() != nil {
				return
			}
			if now := n.o.Clock.Now(); d.NextAt.After(now) {
				if next.IsZero() || d.NextAt.Before(next) {
					next = d.NextAt
				}
				continue
			}
			n.attempt(ctx, d)
			tried = true
		}
		if tried {
			continue // read the outbox again: the attempts changed it
		}
		var tc <-chan time.Time
		var t deploy.Timer
		if !next.IsZero() {
			t = n.o.Clock.NewTimer(max(next.Sub(n.o.Clock.Now()), 0))
			tc = t.C()
		}
		select {
		case <-ctx.Done():
		case <-n.poke:
		case <-tc:
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// attempt sends one delivery and records how it went.
func (n *Notifier) attempt(ctx context.Context, d delivery) {
	t, ok := n.target(d.URL, d.Format)
	if !ok {
		n.log.Warn("notification dropped: its target is no longer in canaryflow.yaml", "kind", d.Kind, "target", Target{URL: d.URL}.Host())
		n.remove(d.ID)
		return
	}
	err := send(ctx, n.o.HTTP, t, d.Message, d.Body, d.ContentType, n.o.Timeout)
	if ctx.Err() != nil {
		return // stopped mid-delivery: the next Run sends it again
	}
	if err == nil {
		n.log.Info("notification delivered", "kind", d.Kind, "target", t.Host(), "attempts", d.Attempts+1)
		n.remove(d.ID)
		return
	}
	d.Attempts++
	d.LastError = err.Error()
	if d.Attempts >= n.o.MaxAttempts {
		n.log.Error("notification given up", "kind", d.Kind, "target", t.Host(), "attempts", d.Attempts, "err", err)
		n.remove(d.ID)
		return
	}
	d.NextAt = n.o.Clock.Now().Add(Backoff(d.Attempts))
	n.log.Warn("notification failed; will retry", "kind", d.Kind, "target", t.Host(), "attempts", d.Attempts, "retry", d.NextAt, "err", err)
	if err := n.o.Store.Update(func(tx *store.Tx) error { return tx.Put(store.Outbox, d.ID, d) }); err != nil {
		n.log.Error("save notification", "err", err)
	}
}

func (n *Notifier) target(url, format string) (Target, bool) {
	for _, t := range n.o.Targets {
		if t.URL == url && t.Format == format {
			return t, true
		}
	}
	return Target{}, false
}

func (n *Notifier) remove(id string) {
	if err := n.o.Store.Update(func(tx *store.Tx) error { return tx.Delete(store.Outbox, id) }); err != nil {
		n.log.Error("remove notification", "err", err)
	}
}
