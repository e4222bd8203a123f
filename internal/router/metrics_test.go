package router

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHistogramQuantile(t *testing.T) {
	var c counters
	for range 90 {
		c.record(200, 300*time.Microsecond) // bucket ≤ 0.5ms
	}
	for range 10 {
		c.record(503, 40*time.Millisecond) // bucket 25..50ms
	}
	h := c.read().Latency
	if h.Count != 100 {
		t.Fatalf("count %d", h.Count)
	}
	if p50 := h.Quantile(0.5); p50 <= 0 || p50 > 500*time.Microsecond {
		t.Errorf("p50 = %s", p50)
	}
	if p99 := h.Quantile(0.99); p99 <= 25*time.Millisecond || p99 > 50*time.Millisecond {
		t.Errorf("p99 = %s", p99)
	}
	before := c.read()
	c.record(200, 2*time.Second)
	delta := c.read().Sub(before)
	if delta.Requests != 1 || delta.Latency.Count != 1 || delta.Latency.Quantile(1) <= time.Second {
		t.Errorf("delta %+v p100 %s", delta, delta.Latency.Quantile(1))
	}
	if (Histogram{}).Quantile(0.99) != 0 {
		t.Error("empty histogram quantile not 0")
	}
}

func TestBucketOfMatchesBounds(t *testing.T) {
	bounds := LatencyBounds()
	for i, b := range bounds {
		d := secs(b)
		if got := bucketOf(d); got != i {
			t.Errorf("bucketOf(%s) = %d, want %d", d, got, i)
		}
		if got := bucketOf(d + time.Nanosecond); got != i+1 {
			t.Errorf("bucketOf(%s+1ns) = %d, want %d", d, got, i+1)
		}
	}
}

func TestPrometheusAndAdmin(t *testing.T) {
	blue := newBackend(t, "blue", nil)
	green := newBackend(t, "green", nil)
	rt, srv := newTestRouter(t, Options{Blue: []string{blue.URL}, Green: []string{green.URL}, GreenWeight: 500})
	for range 4 {
		get(t, srv.Client(), srv.URL+"/")
	}
	admin := httptest.NewServer(rt.AdminHandler(AdminOptions{Token: "s3cret"}))
	t.Cleanup(admin.Close)
	do := func(method, path, body string, auth bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, admin.URL+path, strings.NewReader(body))
		if auth {
			req.Header.Set("Authorization", "Bearer s3cret")
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := admin.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := do("GET", "/weights", "", false); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	code, body := do("GET", "/metrics", "", true)
	for _, want := range []string{
		`canaryflow_router_group_requests_total{group="blue"} 2`,
		`canaryflow_router_group_responses_total{class="2xx",group="green"} 2`,
		`canaryflow_router_target_requests_total{group="green",target="` + green.URL + `"} 2`,
		`canaryflow_router_weight_permille{group="green"} 500`,
		`canaryflow_router_targets{group="blue",state="healthy"} 1`,
		`canaryflow_router_group_request_duration_seconds_count{group="blue"} 2`,
	} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("metrics (%d) lack %s:\n%s", code, want, body)
		}
	}
	if code, body := do("PUT", "/weights", `{"green": 250}`, true); code != http.StatusOK || !strings.Contains(body, `"blue": 750`) {
		t.Fatalf("set weight: %d %s", code, body)
	}
	if rt.Weights() != (Weights{Blue: 750, Green: 250}) {
		t.Fatalf("weights %v", rt.Weights())
	}
	for _, bad := range []string{`{"green": 1001}`, `{"green": -1}`, `{}`, `{"green": 1, "blue": 1}`, `{"green": "x"}`, `nope`} {
		if code, _ := do("PUT", "/weights", bad, true); code != http.StatusBadRequest {
			t.Errorf("PUT /weights %s: %d, want 400", bad, code)
		}
	}
	extra := newBackend(t, "extra", nil)
	if code, body := do("POST", "/targets", `{"group":"green","url":"`+extra.URL+`"}`, true); code != http.StatusCreated {
		t.Fatalf("register: %d %s", code, body)
	}
	if code, _ := do("POST", "/targets", `{"group":"green","url":"`+extra.URL+`"}`, true); code != http.StatusConflict {
		t.Fatalf("register twice: %d", code)
	}
	if code, _ := do("DELETE", "/targets", `{"group":"green","url":"`+extra.URL+`"}`, true); code != http.StatusAccepted {
		t.Fatalf("deregister: %d", code)
	}
	if code, _ := do("DELETE", "/targets", `{"group":"blue","url":"http://127.0.0.1:1"}`, true); code != http.StatusNotFound {
		t.Fatalf("deregister unknown: %d", code)
	}
	code, body = do("GET", "/snapshot", "", true)
	var snap Snapshot
	if err := json.Unmarshal([]byte(body), &snap); err != nil || code != http.StatusOK {
		t.Fatalf("snapshot %d %v: %s", code, err, body)
	}
	if snap.Green.Requests != 2 || snap.Blue.Targets[0].URL != blue.URL || snap.Weights.Green != 250 {
		t.Fatalf("snapshot %+v", snap)
	}
}

func TestOptionsValidate(t *testing.T) {
	bad := []Options{
		{Blue: []string{"ftp://x:1"}},
		{Blue: []string{"http://127.0.0.1:1", "http://127.0.0.1:1/"}},
		{GreenWeight: 1001},
		{PinHeader: "bad header", PinSecret: "0123456789abcdef"},
		{PinHeader: "X-Pin"},
		{PinHeader: "X-Pin", PinSecret: "short"},
		{StickyCookie: "a;b"},
		{DeregistrationDelay: -1},
		{TLSCertFile: "cert.pem"},
		{HealthCheck: HealthCheck{Path: "healthz"}},
		{HealthCheck: HealthCheck{Path: "/h", Interval: time.Second, Timeout: 2 * time.Second}},
		{HealthCheck: HealthCheck{Path: "/h", SuccessCodes: "2xx"}},
	}
	for _, o := range bad {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v): want error", o)
		}
	}
	rt, err := New(Options{})
	if err != nil {
		t.Fatalf("zero Options: %v", err)
	}
	rec := httptest.NewRecorder()
	rt.Handler(Production).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("empty router answered %d", rec.Code)
	}
	_ = rt.Close()
	if err := rt.Register(Blue, "http://127.0.0.1:1"); err == nil {
		t.Fatal("register after Close succeeded")
	}
}
