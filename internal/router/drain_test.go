package router

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

type result struct {
	code int
	body string
	err  error
}

func getAsync(srv string, client *http.Client) <-chan result {
	ch := make(chan result, 1)
	go func() {
		resp, err := client.Get(srv + "/")
		if err != nil {
			ch <- result{err: err}
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ch <- result{code: resp.StatusCode, body: string(body)}
	}()
	return ch
}

func TestDrainLetsSlowRequestFinish(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	slow := newBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		_, _ = io.WriteString(w, "slow done")
	})
	other := newBackend(t, "other", nil)
	fc := newFakeClock()
	rt, srv := newTestRouter(t, Options{Blue: []string{slow.URL, other.URL}, Clock: fc, DeregistrationDelay: 30 * time.Second})
	// Round robin starts at the second target: send one to other first.
	if _, who, _ := get(t, srv.Client(), srv.URL+"/"); who != "other" {
		t.Fatalf("first request went to %s", who)
	}
	res := getAsync(srv.URL, srv.Client())
	<-arrived
	done, err := rt.Deregister(Blue, slow.URL)
	if err != nil {
		t.Fatal(err)
	}
	if st := rt.Snapshot().Blue.Targets[0]; st.State != StateDraining || st.InFlight != 1 {
		t.Fatalf("draining target snapshot %+v", st)
	}
	for range 4 {
		if _, who, _ := get(t, srv.Client(), srv.URL+"/"); who != "other" {
			t.Fatalf("a draining target got a new request (went to %s)", who)
		}
	}
	close(release)
	if r := <-res; r.err != nil || r.code != http.StatusOK || r.body != "slow done" {
		t.Fatalf("in-flight request during drain: %+v", r)
	}
	<-done // ends without the clock moving: nothing was in flight any more
	if n := len(rt.Snapshot().Blue.Targets); n != 1 {
		t.Fatalf("%d targets after drain, want 1", n)
	}
	if _, err := rt.Deregister(Blue, slow.URL); !errors.Is(err, ErrUnknownTarget) {
		t.Fatalf("second deregister: %v", err)
	}
}

func TestDrainDeadlineCancelsWith504(t *testing.T) {
	arrived := make(chan struct{})
	upstreamCancelled := make(chan struct{})
	stuck := newBackend(t, "stuck", func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
		close(upstreamCancelled)
	})
	fc := newFakeClock()
	rt, srv := newTestRouter(t, Options{Blue: []string{stuck.URL}, Clock: fc, DeregistrationDelay: 30 * time.Second})
	res := getAsync(srv.URL, srv.Client())
	<-arrived
	done, err := rt.Deregister(Blue, stuck.URL)
	if err != nil {
		t.Fatal(err)
	}
	fc.waitWaiters(t, 1)
	fc.Advance(30 * time.Second)
	r := <-res
	if r.err != nil || r.code != http.StatusGatewayTimeout {
		t.Fatalf("request past the deregistration delay: %+v", r)
	}
	<-upstreamCancelled
	<-done
	if m := rt.Metrics().Blue; m.Responses[3] != 1 || m.UpstreamErrors != 0 {
		t.Fatalf("metrics %+v", m.Counters)
	}
}

func TestDrainClosesUpgradedConnections(t *testing.T) {
	upstreamClosed := make(chan struct{})
	ws := wsUpstream(t, upstreamClosed)
	fc := newFakeClock()
	rt, srv := newTestRouter(t, Options{Blue: []string{ws.URL}, Clock: fc, DeregistrationDelay: 10 * time.Second})
	conn, br := dialUpgrade(t, srv.Listener.Addr().String())
	done, err := rt.Deregister(Blue, ws.URL)
	if err != nil {
		t.Fatal(err)
	}
	// Until the drain ends the upgraded connection keeps working.
	fc.waitWaiters(t, 1)
	_, _ = io.WriteString(conn, "still there\n")
	if line, err := br.ReadString('\n'); err != nil || line != "still there\n" {
		t.Fatalf("echo during drain: %q %v", line, err)
	}
	fc.Advance(10 * time.Second)
	if _, err := br.ReadString('\n'); err == nil {
		t.Fatal("upgraded connection still open after the drain ended")
	}
	<-upstreamClosed
	<-done
}

func TestDrainClosesIdleConnections(t *testing.T) {
	b := newBackend(t, "blue", nil)
	other := newBackend(t, "other", nil)
	rt, srv := newTestRouter(t, Options{Blue: []string{b.URL, other.URL}})
	for range 4 {
		get(t, srv.Client(), srv.URL+"/")
	}
	var tgt *target
	for _, x := range rt.bound.Load().side[Blue].targets() {
		if x.key == b.URL {
			tgt = x
		}
	}
	tgt.pool.mu.Lock()
	idle := len(tgt.pool.idle)
	tgt.pool.mu.Unlock()
	if idle == 0 {
		t.Fatal("no idle keep-alive connection to the target")
	}
	done, err := rt.Deregister(Blue, b.URL)
	if err != nil {
		t.Fatal(err)
	}
	<-done
	tgt.pool.mu.Lock()
	defer tgt.pool.mu.Unlock()
	if len(tgt.pool.idle) != 0 || len(tgt.pool.open) != 0 {
		t.Fatalf("after drain: %d idle, %d open connections", len(tgt.pool.idle), len(tgt.pool.open))
	}
}
