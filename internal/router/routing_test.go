package router

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSplitThroughProxyIsExact(t *testing.T) {
	blue := newBackend(t, "blue", nil)
	green := newBackend(t, "green", nil)
	_, srv := newTestRouter(t, Options{Blue: []string{blue.URL}, Green: []string{green.URL}, GreenWeight: 100})
	// Seven concurrent keep-alive clients: the split is per request, not per
	// connection, so exactly 10% of 700 requests go to green.
	var wg sync.WaitGroup
	for range 7 {
		wg.Go(func() {
			for range 100 {
				if code, _, body := get(t, srv.Client(), srv.URL+"/"); code != http.StatusOK {
					t.Errorf("GET = %d %q", code, body)
				}
			}
		})
	}
	wg.Wait()
	if g, b := green.hits.Load(), blue.hits.Load(); g != 70 || b != 630 {
		t.Fatalf("green %d blue %d, want 70/630", g, b)
	}
}

func TestRoundRobinWithinGroup(t *testing.T) {
	b1 := newBackend(t, "b1", nil)
	b2 := newBackend(t, "b2", nil)
	b3 := newBackend(t, "b3", nil)
	_, srv := newTestRouter(t, Options{Blue: []string{b1.URL, b2.URL, b3.URL}})
	for range 30 {
		get(t, srv.Client(), srv.URL+"/")
	}
	for _, b := range []*backend{b1, b2, b3} {
		if n := b.hits.Load(); n != 10 {
			t.Errorf("%s got %d requests, want 10", b.name, n)
		}
	}
}

func TestPinHeaderAndTestListener(t *testing.T) {
	blue := newBackend(t, "blue", nil)
	green := newBackend(t, "green", nil)
	const secret = "0123456789abcdef"
	rt, srv := newTestRouter(t, Options{Blue: []string{blue.URL}, Green: []string{green.URL}, PinHeader: "x-canaryflow-target", PinSecret: secret})
	if _, who, _ := get(t, srv.Client(), srv.URL+"/"); who != "blue" {
		t.Fatalf("weight 0 went to %s", who)
	}
	if _, who, _ := get(t, srv.Client(), srv.URL+"/", "X-Canaryflow-Target", "green:"+secret); who != "green" {
		t.Fatalf("pinned green went to %s", who)
	}
	if err := rt.SetGreenWeight(1000); err != nil {
		t.Fatal(err)
	}
	if _, who, _ := get(t, srv.Client(), srv.URL+"/", "X-Canaryflow-Target", "BLUE:"+secret); who != "blue" {
		t.Fatalf("pinned blue went to %s", who)
	}
	for _, v := range []string{"purple:" + secret, "blue", "blue:", "blue:0123456789abcdeX", "blue:" + secret + "x"} {
		if _, who, _ := get(t, srv.Client(), srv.URL+"/", "X-Canaryflow-Target", v); who != "green" {
			t.Fatalf("pin %q should be ignored and the weights followed, went to %s", v, who)
		}
	}
	_ = rt.SetGreenWeight(0)
	test := httptest.NewServer(rt.Handler(Test))
	t.Cleanup(test.Close)
	for range 5 {
		if _, who, _ := get(t, test.Client(), test.URL+"/"); who != "green" {
			t.Fatalf("test listener went to %s", who)
		}
	}
}

func TestStickyCookie(t *testing.T) {
	blue := newBackend(t, "blue", nil)
	green := newBackend(t, "green", nil)
	rt, srv := newTestRouter(t, Options{Blue: []string{blue.URL}, Green: []string{green.URL}, GreenWeight: 500, StickyCookie: "cf_version"})
	for _, want := range []string{"blue", "green"} {
		resp, err := srv.Client().Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("X-Backend")
		if got != want {
			t.Fatalf("first request went to %s, want %s", got, want)
		}
		cookie := resp.Header.Get("Set-Cookie")
		if !strings.HasPrefix(cookie, "cf_version="+want) || !strings.Contains(cookie, "HttpOnly") {
			t.Fatalf("Set-Cookie = %q", cookie)
		}
		for range 10 {
			code, who, _ := get(t, srv.Client(), srv.URL+"/", "Cookie", "cf_version="+want)
			if code != http.StatusOK || who != want {
				t.Fatalf("sticky %s went to %s (%d)", want, who, code)
			}
		}
	}
	// At weight 0 a group's sticky users go back to the other group.
	_ = rt.SetGreenWeight(0)
	if _, who, _ := get(t, srv.Client(), srv.URL+"/", "Cookie", "cf_version=green"); who != "blue" {
		t.Fatalf("sticky green at weight 0 went to %s", who)
	}
}

// unhealthyWhen serves /healthz failing while bad() is true.
func healthServer(t *testing.T, name string, bad func() bool) *httptest.Server {
	return newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			if bad() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		w.Header().Set("X-Backend", name)
		_, _ = w.Write([]byte(name))
	})
}

func TestFailoverAndUnavailable(t *testing.T) {
	var mu sync.Mutex
	down := map[string]bool{"green": true}
	isDown := func(n string) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return down[n] }
	}
	blue := healthServer(t, "blue", isDown("blue"))
	green := healthServer(t, "green", isDown("green"))
	fc := newFakeClock()
	const interval = 5 * time.Second
	rt, srv := newTestRouter(t, Options{
		Blue: []string{blue.URL}, Green: []string{green.URL}, GreenWeight: 500, Clock: fc,
		PinHeader: "X-Canaryflow-Target", PinSecret: "0123456789abcdef",
		HealthCheck: HealthCheck{Path: "/healthz", Interval: interval, Timeout: time.Second, UnhealthyThreshold: 1, HealthyThreshold: 1},
	})
	fc.waitWaiters(t, 2)
	for range 10 {
		if code, who, _ := get(t, srv.Client(), srv.URL+"/"); code != http.StatusOK || who != "blue" {
			t.Fatalf("with green down: %d from %q", code, who)
		}
	}
	m := rt.Metrics()
	if !m.Green.NoHealthyTarget || m.Green.Redirected != 5 || m.Green.UnhealthyTargets != 1 || m.Blue.Requests != 10 {
		t.Fatalf("metrics with green down: %+v", m.Green)
	}

	mu.Lock()
	down["blue"] = true
	mu.Unlock()
	fc.Advance(interval)
	fc.waitWaiters(t, 2)
	code, _, body := get(t, srv.Client(), srv.URL+"/")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "no healthy target in blue or green") {
		t.Fatalf("with all down: %d %q", code, body)
	}
	code, _, body = get(t, srv.Client(), srv.URL+"/", "X-Canaryflow-Target", "green:0123456789abcdef")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "group green") {
		t.Fatalf("pinned green with all down: %d %q", code, body)
	}

	mu.Lock()
	down["blue"], down["green"] = false, false
	mu.Unlock()
	fc.Advance(interval)
	fc.waitWaiters(t, 2)
	seen := map[string]int{}
	for range 4 {
		_, who, _ := get(t, srv.Client(), srv.URL+"/")
		seen[who]++
	}
	if seen["blue"] != 2 || seen["green"] != 2 {
		t.Fatalf("after recovery: %v", seen)
	}
}

func TestWeightChangesUnderLoad(t *testing.T) {
	blue := newBackend(t, "blue", nil)
	green := newBackend(t, "green", nil)
	green2 := newBackend(t, "green2", nil)
	rt, srv := newTestRouter(t, Options{Blue: []string{blue.URL}, Green: []string{green.URL, green2.URL}, GreenWeight: 100,
		DeregistrationDelay: time.Minute})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures sync.Map
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := srv.Client().Get(srv.URL + "/")
				if err != nil {
					failures.Store(err.Error(), true)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Store(resp.Status, true)
				}
			}
		})
	}
	steps := []int{100, 1000, 0, 500, 1000, 250, 0, 900, 100, 1000, 0, 1000, 0, 500, 500, 750, 0, 1000, 10, 0}
	for i, g := range steps {
		if err := rt.SetGreenWeight(g); err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			done, err := rt.Deregister(Green, green2.URL)
			if err != nil {
				t.Fatal(err)
			}
			<-done
		}
		time.Sleep(5 * time.Millisecond) // let traffic run on each weight; not an assertion
	}
	close(stop)
	wg.Wait()
	failures.Range(func(k, _ any) bool {
		t.Errorf("failure under weight changes: %v", k)
		return true
	})
	if blue.hits.Load() == 0 || green.hits.Load() == 0 {
		t.Fatalf("blue %d green %d: traffic did not move", blue.hits.Load(), green.hits.Load())
	}
}
