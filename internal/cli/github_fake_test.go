package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGitHub answers the REST endpoints canaryflow uses as GitHub documents
// them (API version 2022-11-28): repository get, rulesets list, get,
// create and update, pulls create and releases create. It keeps the
// rulesets it was sent, records every request, and can be told to fail.
type fakeGitHub struct {
	t     *testing.T
	srv   *httptest.Server
	owner string
	repo  string
	token string
	admin bool

	mu       sync.Mutex
	requests []fakeRequest
	rulesets map[int64]map[string]any
	nextID   int64
	// fail, when set, answers every request with this status and body.
	fail *fakeFailure
}

type fakeRequest struct {
	Method, Path, Query string
	Header              http.Header
	Body                map[string]any
}

type fakeFailure struct {
	// method, when set, fails only requests with this method.
	method  string
	status  int
	message string
	header  map[string]string
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{t: t, owner: "acme", repo: "shop", token: "ghp_test-token", admin: true, rulesets: map[int64]map[string]any{}, nextID: 100}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// writes lists the requests that change something.
func (f *fakeGitHub) writes() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeRequest
	for _, r := range f.requests {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeGitHub) all() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...)
}

func (f *fakeGitHub) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	for k, v := range map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999", "X-RateLimit-Reset": "1893456000"} {
		if w.Header().Get(k) == "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := fakeRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone()}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req.Body); err != nil {
			f.reply(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON"})
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	if f.fail != nil && (f.fail.method == "" || f.fail.method == r.Method) {
		for k, v := range f.fail.header {
			w.Header().Set(k, v)
		}
		f.reply(w, f.fail.status, map[string]any{"message": f.fail.message, "documentation_url": "https://docs.github.com/rest"})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		f.reply(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials"})
		return
	}
	base := "/repos/" + f.owner + "/" + f.repo
	rest, ok := strings.CutPrefix(r.URL.Path, base)
	if !ok {
		f.reply(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
		return
	}
	switch {
	case r.Method == http.MethodGet && rest == "":
		f.reply(w, http.StatusOK, map[string]any{"id": 1, "name": f.repo, "full_name": f.owner + "/" + f.repo,
			"permissions": map[string]bool{"admin": f.admin, "maintain": f.admin, "push": true, "triage": true, "pull": true}})
	case r.Method == http.MethodGet && rest == "/rulesets":
		list := []map[string]any{}
		for id := int64(100); id < f.nextID; id++ {
			if rs, ok := f.rulesets[id]; ok {
				list = append(list, map[string]any{"id": id, "name": rs["name"], "target": rs["target"], "source_type": "Repository",
					"source": f.owner + "/" + f.repo, "enforcement": rs["enforcement"], "node_id": "RRS_" + strconv.FormatInt(id, 10)})
			}
		}
		f.reply(w, http.StatusOK, list)
	case r.Method == http.MethodPost && rest == "/rulesets":
		for _, rs := range f.rulesets {
			if rs["name"] == req.Body["name"] {
				f.reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
					"errors": []map[string]string{{"resource": "Ruleset", "code": "custom", "message": "Name must be unique"}}})
				return
			}
		}
		if req.Body["name"] == nil || req.Body["enforcement"] == nil {
			f.reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "Invalid request", "errors": []map[string]string{{"resource": "Ruleset", "field": "name", "code": "missing_field"}}})
			return
		}
		id := f.nextID
		f.nextID++
		f.rulesets[id] = req.Body
		f.reply(w, http.StatusCreated, f.stored(id))
	case strings.HasPrefix(rest, "/rulesets/"):
		id, err := strconv.ParseInt(strings.TrimPrefix(rest, "/rulesets/"), 10, 64)
		if _, ok := f.rulesets[id]; err != nil || !ok {
			f.reply(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
			return
		}
		switch r.Method {
		case http.MethodGet:
			f.reply(w, http.StatusOK, f.stored(id))
		case http.MethodPut:
			f.rulesets[id] = req.Body
			f.reply(w, http.StatusOK, f.stored(id))
		case http.MethodDelete:
			delete(f.rulesets, id)
			w.WriteHeader(http.StatusNoContent)
		default:
			f.reply(w, http.StatusMethodNotAllowed, map[string]any{"message": "Method Not Allowed"})
		}
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/rules/branches/"):
		branch := strings.TrimPrefix(rest, "/rules/branches/")
		rules := []map[string]any{}
		for id, rs := range f.rulesets {
			cond, _ := rs["conditions"].(map[string]any)
			ref, _ := cond["ref_name"].(map[string]any)
			inc, _ := ref["include"].([]any)
			if len(inc) != 1 || inc[0] != "refs/heads/"+branch {
				continue
			}
			list, _ := rs["rules"].([]any)
			for _, rule := range list {
				m := rule.(map[string]any)
				rules = append(rules, map[string]any{"type": m["type"], "parameters": m["parameters"],
					"ruleset_source_type": "Repository", "ruleset_source": f.owner + "/" + f.repo, "ruleset_id": id})
			}
		}
		f.reply(w, http.StatusOK, rules)
	case r.Method == http.MethodPost && rest == "/pulls":
		for _, k := range []string{"title", "head", "base"} {
			if s, _ := req.Body[k].(string); s == "" {
				f.reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"resource": "PullRequest", "field": k, "code": "missing_field"}}})
				return
			}
		}
		f.reply(w, http.StatusCreated, map[string]any{"number": 7, "state": "open", "title": req.Body["title"],
			"html_url": fmt.Sprintf("https://github.com/%s/%s/pull/7", f.owner, f.repo)})
	case r.Method == http.MethodPost && rest == "/releases":
		f.reply(w, http.StatusCreated, map[string]any{"id": 9, "tag_name": req.Body["tag_name"], "name": req.Body["name"],
			"html_url": fmt.Sprintf("https://github.com/%s/%s/releases/tag/%v", f.owner, f.repo, req.Body["tag_name"])})
	default:
		f.reply(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
	}
}

// stored is a ruleset as GitHub returns it: what was sent, plus the fields
// GitHub sets.
func (f *fakeGitHub) stored(id int64) map[string]any {
	rs := map[string]any{}
	for k, v := range f.rulesets[id] {
		rs[k] = v
	}
	rs["id"] = id
	rs["node_id"] = "RRS_" + strconv.FormatInt(id, 10)
	rs["source_type"] = "Repository"
	rs["source"] = f.owner + "/" + f.repo
	rs["current_user_can_bypass"] = "never"
	rs["created_at"] = "2026-12-05T10:00:00Z"
	rs["updated_at"] = "2026-12-05T10:00:00Z"
	rs["_links"] = map[string]any{"self": map[string]string{"href": f.srv.URL + "/repos/acme/shop/rulesets/" + strconv.FormatInt(id, 10)}}
	if _, ok := rs["bypass_actors"]; !ok {
		rs["bypass_actors"] = []any{}
	}
	return rs
}
