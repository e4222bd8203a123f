package pipeline

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func TestAPI(t *testing.T) {
	origin, work := remoteRepo(t)
	gitCmd(t, work, "tag", "v1.0.0")
	gitCmd(t, work, "switch", "-q", "develop")
	gitCmd(t, work, "commit", "-q", "--allow-empty", "-m", "dev")
	gitCmd(t, work, "tag", "v9.0.0")
	gitCmd(t, work, "push", "-q", "origin", "develop", "--tags")

	x, _ := newExecutions(t)
	src, _ := NewSource(SourceOptions{URL: origin, MirrorDir: filepath.Join(t.TempDir(), "m")})
	stage := Stage{Name: "Build", Run: func(_ context.Context, e *Execution, log io.Writer) error {
		io.WriteString(log, "built "+e.Tag+"\n")
		e.Image = "img@" + e.Commit[:7]
		return nil
	}}
	r, _ := NewRunner(RunnerOptions{Executions: x, Stages: []Stage{stage}})
	mux := http.NewServeMux()
	(&API{Runner: r, Executions: x, Resolve: src.Resolve}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	post := func(body string) (int, map[string]any) {
		resp, err := http.Post(srv.URL+"/v1/executions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	code, e := post(`{"tag":"v1.0.0"}`)
	if code != 201 || e["tag"] != "v1.0.0" {
		t.Fatalf("start = %d %v", code, e)
	}
	id := e["id"].(string)
	waitStatus(t, x, id, Succeeded)
	code, again := post(`{"tag":"v1.0.0"}`)
	if code != 200 || again["id"] != id {
		t.Errorf("re-run = %d %v, want 200 and %s", code, again, id)
	}
	for body, want := range map[string]string{
		`{"tag":"v9.0.0"}`:              "not reachable from main",
		`{"tag":"v2.0.0"}`:              "tag not found",
		`{"tag":"v1.0.0;touch /tmp/x"}`: "does not trigger",
		`{"tag":"--upload-pack=x"}`:     "does not trigger",
		`not json`:                      "want a JSON body",
	} {
		code, m := post(body)
		if code < 400 || !strings.Contains(m["error"].(string), want) {
			t.Errorf("%s: %d %v, want an error with %q", body, code, m, want)
		}
	}

	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if c, body := get("/v1/executions"); c != 200 || !strings.Contains(body, id) {
		t.Errorf("list = %d %s", c, body)
	}
	if c, body := get("/v1/executions/" + id); c != 200 || !strings.Contains(body, `"status": "Succeeded"`) {
		t.Errorf("get = %d %s", c, body)
	}
	if c, body := get("/v1/executions/" + id + "/logs?follow=1"); c != 200 || body != "built v1.0.0\n" {
		t.Errorf("logs = %d %q", c, body)
	}
	if c, _ := get("/v1/executions/e-424242"); c != 404 {
		t.Errorf("missing = %d", c)
	}
	r.Wait()
}
