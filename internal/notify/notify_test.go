package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/events"
	"github.com/canaryflow/canaryflow/internal/store"
)

// manualClock moves only when the test says; timers fire on Advance.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	at time.Time
	ch chan time.Time
}

func (t *manualTimer) C() <-chan time.Time { return t.ch }
func (t *manualTimer) Stop() bool          { return true }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) NewTimer(d time.Duration) deploy.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{at: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var keep []*manualTimer
	for _, t := range c.timers {
		if !c.now.Before(t.at) {
			t.ch <- c.now
		} else {
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
}

// received is one request the receiver got.
type received struct {
	delivery, signature, contentType string
	body                             []byte
}

// receiver answers each request with the next of its answers (200 when
// they run out); an answer of 0 holds the request until the client gives
// up. Every request is sent on got.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	ans []int
	got chan received
}

func newReceiver(t *testing.T, answers ...int) *receiver {
	r := &receiver{ans: answers, got: make(chan received, 16)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.got <- received{req.Header.Get("X-Canaryflow-Delivery"), req.Header.Get(SignatureHeader), req.Header.Get("Content-Type"), body}
		r.mu.Lock()
		code := http.StatusOK
		if len(r.ans) > 0 {
			code, r.ans = r.ans[0], r.ans[1:]
		}
		r.mu.Unlock()
		if code == 0 {
			<-req.Context().Done()
			return
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case g := <-r.got:
		return g
	case <-time.After(30 * time.Second):
		t.Fatal("no notification arrived")
		return received{}
	}
}

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// run starts a notifier and returns its stop, which waits for it.
func run(n *Notifier) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.Run(ctx) }()
	return func() { cancel(); <-done }
}

func rolledBack(bus *events.Bus) {
	d := deploy.Deployment{ID: "d-000003", Service: "hello", Revision: 3, PreviousRevision: 2, Status: deploy.StatusStopped,
		RolledBack: true, Error: &deploy.ErrorInfo{Code: deploy.CodeAlarmActive, Message: "error rate 50%"}}
	bus.Publish(events.TypeDeployment, events.DeploymentData{Deployment: d, PreviousStatus: deploy.StatusInProgress})
}

func outbox(t *testing.T, st *store.Store) int {
	t.Helper()
	var n int
	st.View(func(tx *store.Tx) error {
		return tx.Scan(store.Outbox, "", func(string, []byte) error { n++; return nil })
	})
	return n
}

func TestSignedDeliveryRetriedWithBackoff(t *testing.T) {
	secret := []byte("s3cret")
	rcv := newReceiver(t, http.StatusInternalServerError)
	slack := newReceiver(t)
	st := openStore(t, filepath.Join(t.TempDir(), "db"))
	t.Cleanup(func() { st.Close() })
	bus := events.NewBus(0, nil)
	clock := &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	n := New(Options{Store: st, Bus: bus, Clock: clock, Targets: []Target{
		{URL: rcv.srv.URL, Format: FormatJSON, Events: []string{DeploymentRolledBack}, Secret: secret},
		{URL: slack.srv.URL, Format: FormatSlack, Events: []string{DeploymentRolledBack, DeploymentStarted}},
	}})
	stop := run(n)
	defer stop()
	// Not asked for by the json target, and not a change anyone is told of.
	bus.Publish(events.TypeDeployment, events.DeploymentData{Deployment: deploy.Deployment{ID: "d-1", Status: deploy.StatusInProgress, Step: "Install"}, PreviousStatus: deploy.StatusInProgress})
	rolledBack(bus)

	first := rcv.next(t)
	if !Verify(secret, first.body, first.signature) || Verify([]byte("other"), first.body, first.signature) {
		t.Fatalf("signature %q does not verify the body", first.signature)
	}
	var ce struct {
		SpecVersion, Type, Source, Subject, Text string
		Data                                     deploy.AlarmStatus
	}
	if err := json.Unmarshal(first.body, &ce); err != nil || ce.SpecVersion != "1.0" || ce.Type != "dev.canaryflow.deployment.rolled_back" ||
		ce.Source != "canaryflow/hello" || ce.Subject != "d-000003" || first.contentType != "application/cloudevents+json" {
		t.Fatalf("body %s: %v", first.body, err)
	}
	if s := slack.next(t); string(s.body) != `{"text":"hello: deployment d-000003 rolled back to revision 2 (ALARM_ACTIVE: error rate 50%)"}` {
		t.Errorf("slack body %s", s.body)
	}
	// The receiver answered 500: nothing more until the backoff passes
	// on the clock, then the same delivery again.
	select {
	case g := <-rcv.got:
		t.Fatalf("retried before the backoff: %+v", g)
	default:
	}
	waitStore(t, st, func() bool { return outboxAttempts(t, st) == 1 })
	clock.Advance(Backoff(1))
	second := rcv.next(t)
	if second.delivery != first.delivery || string(second.body) != string(first.body) {
		t.Errorf("retry %q differs from the first attempt %q", second.delivery, first.delivery)
	}
	waitStore(t, st, func() bool { return outbox(t, st) == 0 })
}

// outboxAttempts is the attempts of the one delivery left (-1: none or more).
func outboxAttempts(t *testing.T, st *store.Store) int {
	t.Helper()
	var ds []delivery
	st.View(func(tx *store.Tx) (err error) { ds, err = store.List[delivery](tx, store.Outbox, "n-"); return err })
	if len(ds) != 1 {
		return -1
	}
	return ds[0].Attempts
}

// waitStore waits until ok holds, looking again at each write of the store.
func waitStore(t *testing.T, st *store.Store, ok func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		changed := st.Changed(store.Outbox)
		if ok() {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("the outbox never reached the state wanted")
		}
	}
}

func TestRestartMidDeliveryStillDelivers(t *testing.T) {
	secret := []byte("k")
	rcv := newReceiver(t, 0) // the first attempt is held until the notifier stops
	path := filepath.Join(t.TempDir(), "db")
	st := openStore(t, path)
	bus := events.NewBus(0, nil)
	target := []Target{{URL: rcv.srv.URL, Format: FormatJSON, Events: []string{DeploymentRolledBack}, Secret: secret}}
	stop := run(New(Options{Store: st, Bus: bus, Targets: target}))
	rolledBack(bus)
	held := rcv.next(t)
	stop() // the daemon stops while the receiver holds the request
	st.Close()

	st = openStore(t, path)
	t.Cleanup(func() { st.Close() })
	if outbox(t, st) != 1 {
		t.Fatalf("outbox after the restart: %d deliveries, want 1", outbox(t, st))
	}
	stop = run(New(Options{Store: st, Bus: events.NewBus(0, nil), Targets: target}))
	defer stop()
	again := rcv.next(t)
	if again.delivery != held.delivery || !Verify(secret, again.body, again.signature) {
		t.Errorf("after the restart: delivery %q (was %q), signature ok %v", again.delivery, held.delivery, Verify(secret, again.body, again.signature))
	}
	waitStore(t, st, func() bool { return outbox(t, st) == 0 })
}

func TestClassify(t *testing.T) {
	bus := events.NewBus(0, nil)
	pub := func(typ string, v any) events.Event { ev, _ := bus.Publish(typ, v); return ev }
	d := deploy.Deployment{ID: "d-1", Service: "hello", Revision: 2}
	at := func(status, prev string) events.Event {
		d.Status = status
		return pub(events.TypeDeployment, events.DeploymentData{Deployment: d, PreviousStatus: prev})
	}
	for _, tc := range []struct {
		ev   events.Event
		want string
	}{
		{at(deploy.StatusCreated, ""), DeploymentStarted},
		{at(deploy.StatusQueued, ""), ""},
		{at(deploy.StatusInProgress, deploy.StatusCreated), ""},
		{at(deploy.StatusReady, deploy.StatusInProgress), DeploymentReadyWait},
		{at(deploy.StatusSucceeded, deploy.StatusBaking), DeploymentSucceeded},
		{at(deploy.StatusSucceeded, deploy.StatusSucceeded), ""},
		{pub(events.TypeAlarm, events.AlarmData{DeploymentID: "d-1", Alarm: deploy.AlarmStatus{State: deploy.AlarmActive}, From: deploy.AlarmOK}), DeploymentAlarm},
		{pub(events.TypeAlarm, events.AlarmData{DeploymentID: "d-1", Alarm: deploy.AlarmStatus{State: deploy.AlarmOK}, From: ""}), ""},
	} {
		got := ""
		if ms := Classify(tc.ev); len(ms) == 1 {
			got = ms[0].Kind
		}
		if got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.ev.Type, tc.ev.Data, got, tc.want)
		}
	}
}
