package router

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// managed returns a router with no group, as a control plane starts one.
func managed(t *testing.T) (*Router, *httptest.Server) {
	t.Helper()
	return newTestRouter(t, Options{Restore: &State{Routing: Routing{Weights: GreenWeights(0)}}})
}

// TestTaskSetGroupsSwapAndCount: groups named by task set; making green
// primary is one routing change that moves no target; a new group's
// counters start at zero whatever side it takes.
func TestTaskSetGroupsSwapAndCount(t *testing.T) {
	rt, srv := managed(t)
	one, two, three := newBackend(t, "one", nil), newBackend(t, "two", nil), newBackend(t, "three", nil)
	for name, b := range map[string]*backend{"ts-1": one, "ts-2": two, "ts-3": three} {
		if err := rt.SetGroup(name, []string{b.URL}); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, _ := get(t, srv.Client(), srv.URL); code != http.StatusServiceUnavailable {
		t.Fatalf("nothing bound: %d, want 503", code)
	}
	if err := rt.Route(Routing{Blue: "ts-1", Green: "ts-2", Test: "ts-2", Weights: GreenWeights(500)}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for range 10 {
		_, from, _ := get(t, srv.Client(), srv.URL)
		seen[from]++
	}
	if seen["one"] != 5 || seen["two"] != 5 {
		t.Fatalf("50/50 split: %v", seen)
	}
	// ts-2 becomes primary, ts-3 the new green at 0%.
	if err := rt.Route(Routing{Blue: "ts-2", Green: "ts-3", Test: "ts-3", Weights: GreenWeights(0)}); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, from, _ := get(t, srv.Client(), srv.URL); from != "two" {
			t.Fatalf("after the swap an answer came from %s", from)
		}
	}
	m := rt.Metrics()
	if m.Blue.Requests != 9 || m.Green.Requests != 0 {
		t.Errorf("blue (ts-2) %d requests, green (ts-3) %d; want 9 and 0: counters belong to the group", m.Blue.Requests, m.Green.Requests)
	}
	if gm, ok := rt.GroupMetrics("ts-1"); !ok || gm.Requests != 5 || gm.Weight != 0 {
		t.Errorf("ts-1 after the swap: %+v %v; want its own 5 requests and no weight", gm, ok)
	}
	if _, ok := rt.GroupMetrics("nosuch"); ok {
		t.Error("metrics of a group that does not exist")
	}
}

// TestGroupRemovalAndValidation: a bound group cannot be removed; an
// unbound one drains and goes; bad names and targets change nothing.
func TestGroupRemovalAndValidation(t *testing.T) {
	rt, _ := managed(t)
	b := newBackend(t, "b", nil)
	if err := rt.SetGroup("ts-1", []string{b.URL}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Route(Routing{Blue: "ts-1", Weights: GreenWeights(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.RemoveGroup("ts-1"); !errors.Is(err, ErrGroupInUse) {
		t.Errorf("removing the bound group: %v, want ErrGroupInUse", err)
	}
	for _, bad := range []struct {
		name    string
		targets []string
	}{
		{"", []string{b.URL}},
		{"a/b", []string{b.URL}},
		{strings.Repeat("x", 129), nil},
		{"ts-2", []string{"ftp://x:1"}},
		{"ts-2", []string{"http://127.0.0.1"}},
	} {
		if err := rt.SetGroup(bad.name, bad.targets); err == nil {
			t.Errorf("SetGroup(%q, %v) accepted", bad.name, bad.targets)
		}
	}
	if names := rt.GroupNames(); len(names) != 1 || names[0] != "ts-1" {
		t.Errorf("groups after bad input: %v", names)
	}
	if err := rt.Route(Routing{Blue: "x y", Weights: GreenWeights(0)}); err == nil {
		t.Error("a bad group name was routed to")
	}
	if err := rt.Route(Routing{Blue: "ts-1", Weights: Weights{Blue: 1, Green: 1}}); err == nil {
		t.Error("bad weights were accepted")
	}
	if err := rt.Route(Routing{Weights: GreenWeights(0)}); err != nil {
		t.Fatal(err)
	}
	done, err := rt.RemoveGroup("ts-1")
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if names := rt.GroupNames(); len(names) != 0 {
		t.Errorf("groups after removal: %v", names)
	}
	if done, err := rt.RemoveGroup("ts-1"); err != nil {
		t.Errorf("removing a group that is gone: %v", err)
	} else {
		<-done
	}
}

// TestStateRestores: a router restored from another's State serves the
// same groups and routing, with healthy targets healthy at once.
func TestStateRestores(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	rt1, _ := managed(t)
	if err := rt1.SetGroup("ts-1", []string{a.URL}); err != nil {
		t.Fatal(err)
	}
	if err := rt1.SetGroup("ts-2", []string{b.URL}); err != nil {
		t.Fatal(err)
	}
	want := Routing{Blue: "ts-1", Green: "ts-2", Test: "ts-2", Weights: GreenWeights(100)}
	if err := rt1.Route(want); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(rt1.State())
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	// With health checks on, a restored healthy target takes traffic
	// before any check has run.
	rt2, srv := newTestRouter(t, Options{Restore: &st, HealthCheck: HealthCheck{Path: "/healthz", Interval: 1 << 40, Timeout: 1 << 39,
		HealthyThreshold: 3, UnhealthyThreshold: 2}, Clock: newFakeClock(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if got := rt2.Routing(); got != want {
		t.Errorf("restored routing %+v, want %+v", got, want)
	}
	if code, from, _ := get(t, srv.Client(), srv.URL); code != 200 || from != "a" {
		t.Errorf("restored router answers %d from %q, want 200 from a", code, from)
	}
	bad := State{Groups: map[string][]TargetRecord{"ts-1": {{URL: "gopher://x"}}}, Routing: want}
	if _, err := New(Options{Restore: &bad}); err == nil {
		t.Error("a state with a bad target was restored")
	}
}

// TestAdminGroupsAPI drives the groups and routing through the admin
// endpoint, bad requests included.
func TestAdminGroupsAPI(t *testing.T) {
	rt, srv := managed(t)
	b := newBackend(t, "b", nil)
	admin := httptest.NewServer(rt.AdminHandler(AdminOptions{Token: "tok"}))
	t.Cleanup(admin.Close)
	c := NewAdminClient(strings.TrimPrefix(admin.URL, "http://"), "tok")
	t.Cleanup(c.Close)
	ctx := context.Background()
	if err := c.SetGroup(ctx, "ts-1", []string{b.URL}); err != nil {
		t.Fatal(err)
	}
	blue, gw := "ts-1", 0
	if r, err := c.Route(ctx, RoutingRequest{Blue: &blue, GreenWeight: &gw}); err != nil || r.Blue != "ts-1" {
		t.Fatalf("route: %+v %v", r, err)
	}
	if code, from, _ := get(t, srv.Client(), srv.URL); code != 200 || from != "b" {
		t.Fatalf("through the admin API: %d from %q", code, from)
	}
	if g, ok, err := c.Group(ctx, "ts-1"); err != nil || !ok || len(g.Targets) != 1 || g.Requests != 1 {
		t.Errorf("group ts-1: %+v %v %v", g, ok, err)
	}
	if _, ok, err := c.Group(ctx, "nosuch"); ok || err != nil {
		t.Errorf("a group that does not exist: ok %v, err %v", ok, err)
	}
	if err := c.RemoveGroup(ctx, "ts-1"); !errors.Is(err, ErrGroupInUse) {
		t.Errorf("removing the bound group: %v", err)
	}
	for _, bad := range []struct{ method, path, body string }{
		{"PUT", "/groups/ts-2", `{"targets": "http://x:1"}`},
		{"PUT", "/groups/ts-2", `{"targets": [], "extra": 1}`},
		{"PUT", "/groups/a%20b", `{"targets": []}`},
		{"PUT", "/routing", `{"green_weight": 1001}`},
		{"PUT", "/routing", `{"blue": "x/y"}`},
		{"PUT", "/routing", `not json`},
	} {
		req, _ := http.NewRequest(bad.method, admin.URL+bad.path, strings.NewReader(bad.body))
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s %s %s: %d, want 400", bad.method, bad.path, bad.body, resp.StatusCode)
		}
	}
	if got := rt.Routing(); got.Blue != "ts-1" || got.Weights != GreenWeights(0) {
		t.Errorf("routing after bad requests: %+v", got)
	}
	if names := rt.GroupNames(); len(names) != 1 {
		t.Errorf("groups after bad requests: %v", names)
	}
}

// FuzzCheckGroupName: a name is accepted only if it is safe in a path, a
// metrics label and a log line.
func FuzzCheckGroupName(f *testing.F) {
	for _, s := range []string{"ts-000001", "", "a/b", "x y", strings.Repeat("a", 200), "ünï"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if checkGroupName(name) != nil {
			return
		}
		if name == "" || len(name) > 128 || strings.ContainsAny(name, "/ \t\n\"=%?#") {
			t.Fatalf("accepted %q", name)
		}
	})
}
