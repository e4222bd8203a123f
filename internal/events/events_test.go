package events

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/store"
)

// stream subscribes to srv's events with lastID (none when "") and
// returns a decoder over the stream, past the subscription comment.
func stream(t *testing.T, srv *httptest.Server, lastID, query string) *Decoder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/events"+query, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	// The subscription comment arrives before anything is published.
	buf := make([]byte, len("retry: 1000\n: subscribed\n\n"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil || !strings.Contains(string(buf), "subscribed") {
		t.Fatalf("no subscription comment: %q %v", buf, err)
	}
	return NewDecoder(resp.Body)
}

func next(t *testing.T, d *Decoder) Event {
	t.Helper()
	ev, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestStreamResumesFromLastEventID(t *testing.T) {
	bus := NewBus(4, nil)
	srv := httptest.NewServer(&Handler{Bus: bus})
	t.Cleanup(srv.Close)

	d := stream(t, srv, "", "")
	first, _ := bus.Publish(TypeTraffic, TrafficData{DeploymentID: "d-1", GreenPercent: 10})
	if ev := next(t, d); ev.ID != first.ID || ev.Type != TypeTraffic || !strings.Contains(string(ev.Data), `"greenPercent":10`) {
		t.Fatalf("got %+v, want %+v", ev, first)
	}
	// Two more while the client is away: resuming from the first ID
	// gets both, in order, and nothing before them.
	a, _ := bus.Publish(TypeTraffic, TrafficData{DeploymentID: "d-1", GreenPercent: 100})
	b, _ := bus.Publish(TypeDeployment, map[string]string{"status": "Succeeded"})
	d2 := stream(t, srv, first.ID, "")
	if got := next(t, d2); got.ID != a.ID {
		t.Fatalf("resumed with %s, want %s", got.ID, a.ID)
	}
	if got := next(t, d2); got.ID != b.ID || got.Type != TypeDeployment {
		t.Fatalf("then %+v, want %s", got, b.ID)
	}
	// A type filter keeps only what was asked for.
	d3 := stream(t, srv, first.ID, "?types=deployment")
	if got := next(t, d3); got.ID != b.ID {
		t.Fatalf("filtered stream gave %s, want %s", got.ID, b.ID)
	}
}

func TestStreamResetsWhenEventsAreGone(t *testing.T) {
	bus := NewBus(2, nil)
	srv := httptest.NewServer(&Handler{Bus: bus})
	t.Cleanup(srv.Close)
	old, _ := bus.Publish(TypeAlarm, nil)
	for range 3 {
		bus.Publish(TypeAlarm, nil)
	}
	for _, last := range []string{old.ID, "0-1", "garbage", "x-y-z"} {
		d := stream(t, srv, last, "")
		if ev := next(t, d); ev.Type != TypeReset {
			t.Errorf("Last-Event-ID %q: first event %+v, want a reset", last, ev)
		}
	}
	// One still kept resumes without a reset.
	c, ok := bus.Resume(bus.ring[(bus.seq-2)%2].ID)
	if !ok || c != Cursor(bus.seq-1) {
		t.Errorf("resume of a kept event: %d %v", c, ok)
	}
}

func TestFeedPublishesTheStoresChanges(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	put := func(d deploy.Deployment) {
		t.Helper()
		if err := st.Update(func(tx *store.Tx) error { return tx.Put(store.Deployments, d.ID, d) }); err != nil {
			t.Fatal(err)
		}
	}
	put(deploy.Deployment{ID: "d-000001", Service: "hello", Status: deploy.StatusSucceeded})
	bus := NewBus(0, nil)
	srv := httptest.NewServer(&Handler{Bus: bus})
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	looked := make(chan struct{}, 16)
	go func() {
		defer close(done)
		Feed(ctx, bus, Source{DeploymentsChanged: func() <-chan struct{} { return st.Changed(store.Deployments) }, Deployments: func() ([]deploy.Deployment, error) {
			defer func() { looked <- struct{}{} }()
			var ds []deploy.Deployment
			err := st.View(func(tx *store.Tx) (err error) {
				ds, err = store.List[deploy.Deployment](tx, store.Deployments, "d-")
				return err
			})
			return ds, err
		}})
	}()
	<-looked // the baseline: d-000001 is not news
	d := stream(t, srv, "", "")

	dep := deploy.Deployment{ID: "d-000002", Service: "hello", Status: deploy.StatusInProgress}
	put(dep)
	ev := next(t, d)
	if ev.Type != TypeDeployment || !strings.Contains(string(ev.Data), `"deploymentId":"d-000002"`) || !strings.Contains(string(ev.Data), `"previousStatus":""`) {
		t.Fatalf("first event %s %s", ev.Type, ev.Data)
	}
	dep.GreenPercent = 10
	dep.Alarm = deploy.AlarmStatus{State: deploy.AlarmActive, Reason: "error rate 50% > 5%"}
	put(dep)
	want := []string{TypeTraffic, TypeAlarm, TypeDeployment}
	for _, typ := range want {
		ev := next(t, d)
		if ev.Type != typ {
			t.Fatalf("got %s %s, want %s", ev.Type, ev.Data, typ)
		}
		if typ == TypeTraffic && !strings.Contains(string(ev.Data), `"greenPercent":10,"from":0`) {
			t.Errorf("traffic %s", ev.Data)
		}
	}
}

func TestDecoderRefusesBadFrames(t *testing.T) {
	for _, in := range []string{"data: {\n\n", "data: {}\n\n", "data: x\n"} {
		_, err := NewDecoder(strings.NewReader(in)).Next()
		if err == nil || err == io.EOF {
			t.Errorf("%q: err %v, want a frame error", in, err)
		}
	}
	big := "data: \"" + strings.Repeat("a", MaxFrame) + "\"\n\n"
	if _, err := NewDecoder(strings.NewReader(big)).Next(); !errors.Is(err, ErrFrame) {
		t.Errorf("a huge frame: %v", err)
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add("retry: 1000\n: subscribed\n\nid: a-1\nevent: traffic\ndata: {\"id\":\"a-1\",\"type\":\"traffic\",\"time\":\"2026-01-01T00:00:00Z\",\"data\":{}}\n\n")
	f.Add("data: {\"type\":\"reset\",\"data\":{}}\r\n\r\n")
	f.Add("data: 1\ndata: 2\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		d := NewDecoder(strings.NewReader(in))
		for range 100 {
			ev, err := d.Next()
			if err != nil {
				return
			}
			if ev.Type == "" {
				t.Fatalf("event without a type from %q", in)
			}
			// What the decoder accepts, the handler's framing writes back
			// the same.
			again, err := NewDecoder(strings.NewReader(frame(ev))).Next()
			if err != nil || again.ID != ev.ID || again.Type != ev.Type {
				t.Fatalf("re-framed %+v: %+v %v", ev, again, err)
			}
		}
	})
}

func TestStreamsEndWhenDone(t *testing.T) {
	done := make(chan struct{})
	srv := httptest.NewServer(&Handler{Bus: NewBus(0, nil), Done: done})
	t.Cleanup(srv.Close)
	d := stream(t, srv, "", "")
	close(done)
	if _, err := d.Next(); err != io.EOF {
		t.Fatalf("after Done the stream gave %v, want its end", err)
	}
}
