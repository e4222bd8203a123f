package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canaryflow/canaryflow/internal/githubapi"
)

// githubClone makes a repository whose origin is github.com/acme/NAME,
// with the given canaryflow.yaml, and points canaryflow at fake.
func githubClone(t *testing.T, fake *fakeGitHub, name, yaml string) string {
	t.Helper()
	t.Setenv("GIT_AUTHOR_NAME", "t")
	t.Setenv("GIT_AUTHOR_EMAIL", "t@t")
	t.Setenv("GIT_COMMITTER_NAME", "t")
	t.Setenv("GIT_COMMITTER_EMAIL", "t@t")
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv(githubapi.APIEnv, fake.srv.URL)
	t.Setenv("GITHUB_TOKEN", fake.token)
	t.Setenv("GH_TOKEN", "")
	dir := t.TempDir()
	gitRun(t, dir, "init", "-q", "-b", "main")
	if yaml != "" {
		if err := os.WriteFile(filepath.Join(dir, "canaryflow.yaml"), []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitRun(t, dir, "commit", "-q", "--allow-empty", "-m", "init")
	gitRun(t, dir, "remote", "add", "origin", "https://github.com/acme/"+name+".git")
	return dir
}

const protectYAML = "release:\n  protect:\n    status_checks: [ci/build, security/scan]\n"

// ruleTypes maps a ruleset body's rules by type to their parameters.
func ruleTypes(t *testing.T, body map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	rules, _ := body["rules"].([]any)
	for _, r := range rules {
		m := r.(map[string]any)
		p, _ := m["parameters"].(map[string]any)
		out[m["type"].(string)] = p
	}
	return out
}

// TestProtectGitHubRulesetsIdempotent applies the guide's rulesets to a
// fresh repository, checks each request as GitHub documents it, then
// checks that a second run sends nothing and says so.
func TestProtectGitHubRulesetsIdempotent(t *testing.T) {
	fake := newFakeGitHub(t)
	dir := githubClone(t, fake, "shop", protectYAML)

	code, out := run(t, dir, "protect")
	if code != ExitOK {
		t.Fatalf("protect = %d:\n%s", code, out)
	}
	if strings.Contains(out, fake.token) {
		t.Fatalf("the token was printed:\n%s", out)
	}
	for _, want := range []string{`created ruleset "canaryflow: main" (id 100)`, `created ruleset "canaryflow: develop" (id 101)`,
		`created ruleset "canaryflow: release tags" (id 102)`, `created ruleset "canaryflow: release tag creation" (id 103)`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	all := fake.all()
	if len(all) == 0 || all[0].Method != "GET" || all[0].Path != "/repos/acme/shop" {
		t.Errorf("the first request is not the admin check on GET /repos/acme/shop: %+v", all)
	}
	for _, r := range all {
		if got := r.Header.Get("Authorization"); got != "Bearer "+fake.token {
			t.Errorf("%s %s: Authorization = %q", r.Method, r.Path, got)
		}
		if got := r.Header.Get("X-GitHub-Api-Version"); got != "2022-11-28" {
			t.Errorf("%s %s: X-GitHub-Api-Version = %q", r.Method, r.Path, got)
		}
		if got := r.Header.Get("Accept"); !strings.Contains(got, "application/vnd.github") {
			t.Errorf("%s %s: Accept = %q", r.Method, r.Path, got)
		}
		if r.Path == "/repos/acme/shop/rulesets" && r.Method == "GET" && !strings.Contains(r.Query, "includes_parents=false") {
			t.Errorf("rulesets listed with query %q: organisation rulesets would be compared too", r.Query)
		}
	}
	writes := fake.writes()
	if len(writes) != 4 {
		t.Fatalf("writes = %d, want 4 POSTs: %+v", len(writes), writes)
	}
	for _, w := range writes[:3] {
		if w.Method != "POST" || w.Path != "/repos/acme/shop/rulesets" {
			t.Errorf("write %s %s, want POST /repos/acme/shop/rulesets", w.Method, w.Path)
		}
		if ct := w.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		if w.Body["enforcement"] != "active" {
			t.Errorf("%v: enforcement = %v", w.Body["name"], w.Body["enforcement"])
		}
		if ba, ok := w.Body["bypass_actors"].([]any); !ok || len(ba) != 0 {
			t.Errorf("%v: bypass_actors = %v, want [] (administrators included)", w.Body["name"], w.Body["bypass_actors"])
		}
	}
	main, develop, tags, creation := writes[0].Body, writes[1].Body, writes[2].Body, writes[3].Body
	if main["name"] != "canaryflow: main" || main["target"] != "branch" {
		t.Errorf("main ruleset: %v", main)
	}
	if inc := main["conditions"].(map[string]any)["ref_name"].(map[string]any)["include"]; !jsonEqual(inc, []string{"refs/heads/main"}) {
		t.Errorf("main include = %v", inc)
	}
	rules := ruleTypes(t, main)
	for _, typ := range []string{"deletion", "non_fast_forward", "pull_request", "required_status_checks"} {
		if _, ok := rules[typ]; !ok {
			t.Errorf("main lacks rule %s: %v", typ, rules)
		}
	}
	if _, ok := rules["required_linear_history"]; ok {
		t.Error("main requires linear history, which forbids the flow's merge commits")
	}
	pr := rules["pull_request"]
	if pr["required_approving_review_count"] != 1.0 || pr["dismiss_stale_reviews_on_push"] != true ||
		pr["require_code_owner_review"] != true || pr["required_review_thread_resolution"] != true ||
		!jsonEqual(pr["allowed_merge_methods"], []string{"merge"}) {
		t.Errorf("main pull_request = %v", pr)
	}
	sc := rules["required_status_checks"]
	if sc["strict_required_status_checks_policy"] != true ||
		!jsonEqual(sc["required_status_checks"], []map[string]string{{"context": "ci/build"}, {"context": "security/scan"}}) {
		t.Errorf("main required_status_checks = %v", sc)
	}
	if develop["name"] != "canaryflow: develop" {
		t.Errorf("develop ruleset: %v", develop)
	}
	if dp := ruleTypes(t, develop)["pull_request"]; dp["required_approving_review_count"] != 1.0 || dp["required_review_thread_resolution"] != true {
		t.Errorf("develop pull_request = %v", dp)
	}
	if tags["target"] != "tag" || !jsonEqual(tags["conditions"].(map[string]any)["ref_name"].(map[string]any)["include"], []string{"refs/tags/v*"}) {
		t.Errorf("tag ruleset: %v", tags)
	}
	tr := ruleTypes(t, tags)
	if _, ok := tr["update"]; !ok {
		t.Errorf("tag ruleset lets release tags move: %v", tr)
	}
	if _, ok := tr["deletion"]; !ok {
		t.Errorf("tag ruleset lets release tags be deleted: %v", tr)
	}
	// Only the release path creates release tags: admins bypass a creation
	// rule of its own, so their bypass does not reach update and deletion.
	if creation["target"] != "tag" || !jsonEqual(ruleTypes(t, creation), map[string]any{"creation": nil}) ||
		!jsonEqual(creation["bypass_actors"], []map[string]any{{"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}}) {
		t.Errorf("tag creation ruleset: %v", creation)
	}

	// The second run reads, finds everything as configured, sends nothing.
	code, out = run(t, dir, "protect")
	if code != ExitOK || !strings.Contains(out, "acme/shop is already protected: nothing changed") {
		t.Fatalf("second protect = %d:\n%s", code, out)
	}
	if n := len(fake.writes()); n != 4 {
		t.Errorf("the second run wrote %d more requests", n-4)
	}
	if code, out := run(t, dir, "protect", "--check"); code != ExitOK || !strings.Contains(out, "ok: acme/shop is protected as configured (4 rulesets)") {
		t.Errorf("--check = %d:\n%s", code, out)
	}
}

// TestProtectGitHubDriftCheckDryRunJSON changes a ruleset behind
// canaryflow's back: --check exits 1 and names the difference, --dry-run
// shows it and sends nothing, -o json prints the exact PUT, and protect
// puts it right.
func TestProtectGitHubDriftCheckDryRunJSON(t *testing.T) {
	fake := newFakeGitHub(t)
	dir := githubClone(t, fake, "shop", protectYAML)
	if code, out := run(t, dir, "protect"); code != ExitOK {
		t.Fatalf("protect = %d:\n%s", code, out)
	}
	// Someone drops the status checks from main in the web UI.
	fake.mu.Lock()
	var kept []any
	for _, r := range fake.rulesets[100]["rules"].([]any) {
		if r.(map[string]any)["type"] != "required_status_checks" {
			kept = append(kept, r)
		}
	}
	fake.rulesets[100]["rules"] = kept
	fake.mu.Unlock()
	before := len(fake.writes())

	code, out := run(t, dir, "protect", "--check")
	if code != ExitError {
		t.Fatalf("--check on drift = %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{`would update ruleset "canaryflow: main" (id 100)`, `+ rules.required_status_checks`, `the rulesets of acme/shop drift from canaryflow.yaml (1 to create, update or delete)`, "run `canaryflow protect`"} {
		if !strings.Contains(out, want) {
			t.Errorf("--check output lacks %q:\n%s", want, out)
		}
	}
	code, out = run(t, dir, "protect", "--dry-run")
	if code != ExitOK || !strings.Contains(out, `would update ruleset "canaryflow: main" (id 100):`) ||
		!strings.Contains(out, `+ rules.required_status_checks.strict_required_status_checks_policy = true`) ||
		!strings.Contains(out, `"canaryflow: develop" (id 101) is as configured`) {
		t.Errorf("--dry-run = %d:\n%s", code, out)
	}
	code, out = run(t, dir, "protect", "--dry-run", "-o", "json")
	if code != ExitOK {
		t.Fatalf("--dry-run -o json = %d:\n%s", code, out)
	}
	var rep struct {
		Repository string `json:"repository"`
		Requests   []struct {
			Method, Path string
			Body         map[string]any
		} `json:"requests"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, out)
	}
	if rep.Repository != "acme/shop" || len(rep.Requests) != 1 || rep.Requests[0].Method != "PUT" || rep.Requests[0].Path != "/repos/acme/shop/rulesets/100" {
		t.Fatalf("requests = %+v", rep.Requests)
	}
	if _, ok := ruleTypes(t, rep.Requests[0].Body)["required_status_checks"]; !ok {
		t.Errorf("the PUT body lacks the status checks: %v", rep.Requests[0].Body)
	}
	if n := len(fake.writes()); n != before {
		t.Fatalf("--check and --dry-run wrote %d requests", n-before)
	}
	if code, out := run(t, dir, "protect"); code != ExitOK || !strings.Contains(out, `updated ruleset "canaryflow: main" (id 100)`) {
		t.Fatalf("protect after drift = %d:\n%s", code, out)
	}
	w := fake.writes()
	if last := w[len(w)-1]; last.Method != "PUT" || last.Path != "/repos/acme/shop/rulesets/100" || !jsonEqual(last.Body, rep.Requests[0].Body) {
		t.Errorf("the PUT sent is not the one -o json printed: %s %s", last.Method, last.Path)
	}
	if code, out := run(t, dir, "protect", "--check"); code != ExitOK {
		t.Errorf("--check after protect = %d:\n%s", code, out)
	}
}

// TestProtectGitHubWithoutToken prints the full rulesets it would create
// and sends nothing; without --dry-run it says where a token comes from.
func TestProtectGitHubWithoutToken(t *testing.T) {
	fake := newFakeGitHub(t)
	dir := githubClone(t, fake, "shop", protectYAML)
	withoutToken(t)

	code, out := run(t, dir, "protect", "--dry-run")
	if code != ExitOK {
		t.Fatalf("--dry-run without a token = %d:\n%s", code, out)
	}
	for _, want := range []string{"No GitHub token", "POST /repos/acme/shop/rulesets", `"name": "canaryflow: main"`, `"name": "canaryflow: release tags"`, `"refs/tags/v*"`, `"ci/build"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out = run(t, dir, "protect", "--dry-run", "-o", "json")
	var rep struct {
		Requests []struct{ Method, Path string } `json:"requests"`
	}
	if err := json.Unmarshal([]byte(out), &rep); code != ExitOK || err != nil || len(rep.Requests) != 4 {
		t.Errorf("-o json without a token = %d, %v:\n%s", code, err, out)
	}
	code, out = run(t, dir, "protect")
	if code != ExitError || !strings.Contains(out, "no GitHub token: set GITHUB_TOKEN or GH_TOKEN, or log in with `gh auth login`") {
		t.Errorf("protect without a token = %d:\n%s", code, out)
	}
	if n := len(fake.all()); n != 0 {
		t.Errorf("%d requests reached GitHub without a token", n)
	}
}

// TestProtectGitHubErrors checks each failure is one plain line with the
// fix, exit 1, and nothing written.
func TestProtectGitHubErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *fakeGitHub) (repo string)
		want  string
	}{
		{"401 bad token", func(f *fakeGitHub) string { f.token = "another"; return "shop" },
			"GitHub refused the token (401 Bad credentials)"},
		{"no admin rights", func(f *fakeGitHub) string { f.admin = false; return "shop" },
			"the token has no admin rights on acme/shop"},
		{"403 forbidden", func(f *fakeGitHub) string {
			f.fail = &fakeFailure{status: 403, message: "Resource not accessible by personal access token"}
			return "shop"
		}, "GitHub forbade the request to read acme/shop (403 Resource not accessible by personal access token): the token needs admin rights"},
		{"plan without rulesets", func(f *fakeGitHub) string {
			f.fail = &fakeFailure{status: 403, message: "Upgrade to GitHub Pro or make this repository public to enable this feature."}
			return "shop"
		}, "acme/shop's plan has no rulesets for it"},
		{"404 unknown repository", func(f *fakeGitHub) string { return "gone" },
			"acme/gone does not exist, or the token cannot see it"},
		{"422 refused", func(f *fakeGitHub) string {
			f.fail = &fakeFailure{method: "POST", status: 422, message: "Validation Failed"}
			return "shop"
		}, `GitHub refused to create ruleset "canaryflow: main" on acme/shop (422 Validation Failed)`},
		{"rate limit", func(f *fakeGitHub) string {
			f.fail = &fakeFailure{status: 403, message: "API rate limit exceeded for user ID 1.",
				header: map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1893456000"}}
			return "shop"
		}, "GitHub rate limit reached while trying to read acme/shop; it resets at 00:00 UTC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeGitHub(t)
			token := fake.token
			repo := tc.setup(fake)
			dir := githubClone(t, fake, repo, protectYAML)
			t.Setenv("GITHUB_TOKEN", token)
			code, out := run(t, dir, "protect")
			if code != ExitError {
				t.Fatalf("exit %d, want 1:\n%s", code, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
			if lines := strings.Count(strings.TrimSpace(out), "\n") + 1; lines != 1 || !strings.HasPrefix(out, "canaryflow: ") {
				t.Errorf("want one plain line, got %d:\n%s", lines, out)
			}
			if strings.Contains(out, token) {
				t.Errorf("the token was printed:\n%s", out)
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if len(fake.rulesets) != 0 {
				t.Errorf("%d rulesets were created despite the failure", len(fake.rulesets))
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// withoutToken leaves canaryflow no way to a GitHub token: no variables,
// and only git on PATH, so no gh to ask.
func withoutToken(t *testing.T) {
	t.Helper()
	t.Setenv("GITHUB_TOKEN", "")
	t.Setenv("GH_TOKEN", "")
	bin := t.TempDir()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(gitPath, filepath.Join(bin, "git")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
}

// TestProtectGitHubTagCreatorsAnyone: tag_creators: anyone asks for no
// creation ruleset, so the one an earlier run made is drift, and protect
// deletes it; the other rulesets of the repository stay.
func TestProtectGitHubTagCreatorsAnyone(t *testing.T) {
	fake := newFakeGitHub(t)
	dir := githubClone(t, fake, "shop", protectYAML)
	if code, out := run(t, dir, "protect"); code != ExitOK {
		t.Fatalf("protect = %d:\n%s", code, out)
	}
	fake.mu.Lock()
	fake.rulesets[fake.nextID] = map[string]any{"name": "team: no large files", "target": "push", "enforcement": "active"}
	fake.nextID++
	fake.mu.Unlock()
	if err := os.WriteFile(filepath.Join(dir, "canaryflow.yaml"), []byte(protectYAML+"    tag_creators: anyone\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := run(t, dir, "protect", "--check")
	if code != ExitError || !strings.Contains(out, `would delete ruleset "canaryflow: release tag creation" (id 103)`) {
		t.Fatalf("--check = %d:\n%s", code, out)
	}
	code, out = run(t, dir, "protect")
	if code != ExitOK || !strings.Contains(out, `deleted ruleset "canaryflow: release tag creation" (id 103)`) {
		t.Fatalf("protect = %d:\n%s", code, out)
	}
	w := fake.writes()
	if last := w[len(w)-1]; last.Method != "DELETE" || last.Path != "/repos/acme/shop/rulesets/103" {
		t.Errorf("last write %s %s, want DELETE /repos/acme/shop/rulesets/103", last.Method, last.Path)
	}
	fake.mu.Lock()
	_, kept := fake.rulesets[104]
	n := len(fake.rulesets)
	fake.mu.Unlock()
	if !kept || n != 4 {
		t.Errorf("rulesets left: %d (the team's kept: %v), want canaryflow's three and the team's", n, kept)
	}
	if code, out := run(t, dir, "protect", "--check"); code != ExitOK {
		t.Errorf("--check after protect = %d:\n%s", code, out)
	}
}
