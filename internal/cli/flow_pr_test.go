package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// prRepos makes a bare origin standing in for github.com/acme/shop (the
// clone's remote says GitHub; git's insteadOf sends its pushes to the bare
// repository) and a clone with main, develop and a feature merged.
func prRepos(t *testing.T, fake *fakeGitHub) (app, origin string) {
	t.Helper()
	app = githubClone(t, fake, "shop", "")
	origin = filepath.Join(t.TempDir(), "origin.git")
	gitRun(t, app, "init", "-q", "--bare", origin)
	gitRun(t, app, "config", "url."+origin+".insteadOf", "https://github.com/acme/shop.git")
	if code, out := run(t, app, "flow", "init"); code != ExitOK {
		t.Fatalf("flow init = %d: %s", code, out)
	}
	gitRun(t, app, "switch", "-q", "develop")
	if err := os.WriteFile(filepath.Join(app, "VERSION"), []byte("0.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, app, "add", "VERSION")
	gitRun(t, app, "commit", "-q", "-m", "chore: version file")
	gitRun(t, app, "switch", "-q", "-c", "feature/login")
	gitRun(t, app, "commit", "-q", "--allow-empty", "-m", "feat(auth): add login")
	if code, out := run(t, app, "flow", "feature", "finish"); code != ExitOK {
		t.Fatalf("feature finish = %d: %s", code, out)
	}
	gitRun(t, app, "push", "-q", "origin", "main", "develop")
	return app, origin
}

// mergeOnHost merges branch into main in the origin, as the pull
// request's merge button does.
func mergeOnHost(t *testing.T, origin, branch string) {
	t.Helper()
	hosting := filepath.Join(t.TempDir(), "hosting")
	gitRun(t, filepath.Dir(hosting), "clone", "-q", "-b", "main", origin, hosting)
	gitRun(t, hosting, "merge", "-q", "--no-ff", "-m", "Merge pull request #7 from acme/"+branch, "origin/"+branch)
	gitRun(t, hosting, "push", "-q", "origin", "main")
}

func revParse(t *testing.T, dir, rev string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "rev-parse", rev).Output()
	if err != nil {
		t.Fatalf("git rev-parse %s: %v", rev, err)
	}
	return strings.TrimSpace(string(out))
}

// TestProtectedReleasePullRequestPathOnGitHub follows §6.2 with a token: publish
// --pr opens "Release v1.2.3" with the notes; once it is merged, release
// tag pushes the tag, creates the GitHub Release with the notes and, as
// develop is protected, opens main → develop instead of pushing develop.
func TestProtectedReleasePullRequestPathOnGitHub(t *testing.T) {
	fake := newFakeGitHub(t)
	app, origin := prRepos(t, fake)
	if code, out := run(t, app, "protect"); code != ExitOK {
		t.Fatalf("protect = %d: %s", code, out)
	}
	if code, out := run(t, app, "flow", "release", "start", "1.2.3"); code != ExitOK {
		t.Fatalf("release start = %d: %s", code, out)
	}
	code, out := run(t, app, "flow", "release", "publish", "--pr")
	if code != ExitOK || !strings.Contains(out, `Opened pull request "Release v1.2.3" (release/1.2.3 → main): https://github.com/acme/shop/pull/7`) {
		t.Fatalf("publish --pr = %d:\n%s", code, out)
	}
	w := fake.writes()
	pr := w[len(w)-1]
	if pr.Method != "POST" || pr.Path != "/repos/acme/shop/pulls" || pr.Body["title"] != "Release v1.2.3" ||
		pr.Body["head"] != "release/1.2.3" || pr.Body["base"] != "main" {
		t.Fatalf("pull request sent: %s %s %v", pr.Method, pr.Path, pr.Body)
	}
	if body, _ := pr.Body["body"].(string); !strings.Contains(body, "### Features\n\n- **auth:** add login (") || strings.Contains(body, "Bump version") {
		t.Errorf("pull request body is not the release notes:\n%s", body)
	}
	if strings.Contains(out, fake.token) {
		t.Errorf("the token was printed")
	}

	mergeOnHost(t, origin, "release/1.2.3")
	developBefore := revParse(t, origin, "refs/heads/develop")
	code, out = run(t, app, "flow", "release", "tag", "1.2.3")
	if code != ExitOK {
		t.Fatalf("release tag = %d:\n%s", code, out)
	}
	for _, want := range []string{"pushed v1.2.3 to origin", "release v1.2.3 published https://github.com/acme/shop/releases/tag/v1.2.3",
		"pull request main → develop opened https://github.com/acme/shop/pull/7"} {
		if !strings.Contains(out, want) {
			t.Errorf("release tag output lacks %q:\n%s", want, out)
		}
	}
	w = fake.writes()
	rel, back := w[len(w)-2], w[len(w)-1]
	if rel.Path != "/repos/acme/shop/releases" || rel.Body["tag_name"] != "v1.2.3" || rel.Body["name"] != "v1.2.3" {
		t.Errorf("release sent: %s %v", rel.Path, rel.Body)
	}
	if notes, _ := rel.Body["body"].(string); !strings.Contains(notes, "- **auth:** add login (") {
		t.Errorf("release notes:\n%s", notes)
	}
	if back.Path != "/repos/acme/shop/pulls" || back.Body["head"] != "main" || back.Body["base"] != "develop" || back.Body["title"] != "Merge release v1.2.3 back to develop" {
		t.Errorf("back-merge pull request: %s %v", back.Path, back.Body)
	}
	if got := revParse(t, origin, "refs/tags/v1.2.3^{commit}"); got != revParse(t, origin, "refs/heads/main") {
		t.Errorf("v1.2.3 is not origin's main")
	}
	if got := revParse(t, origin, "refs/heads/develop"); got != developBefore {
		t.Errorf("develop was pushed although it is protected")
	}
}

// TestProtectedHotfixPullRequestPathWithoutToken: without a token, publish --pr and
// hotfix tag print the gh commands that do the same, exit 0, and send
// nothing to GitHub; develop, not known to be protected, is merged and
// pushed as before.
func TestProtectedHotfixPullRequestPathWithoutToken(t *testing.T) {
	fake := newFakeGitHub(t)
	app, origin := prRepos(t, fake)
	if code, out := run(t, app, "flow", "release", "start", "1.0.0"); code != ExitOK {
		t.Fatalf("release start = %d: %s", code, out)
	}
	if code, out := run(t, app, "flow", "release", "finish", "--push"); code != ExitOK {
		t.Fatalf("release finish = %d: %s", code, out)
	}
	withoutToken(t)
	before := len(fake.all())

	if code, out := run(t, app, "flow", "hotfix", "start"); code != ExitOK {
		t.Fatalf("hotfix start = %d: %s", code, out)
	}
	gitRun(t, app, "commit", "-q", "--allow-empty", "-m", "fix(api): timeout on empty body")
	code, out := run(t, app, "flow", "hotfix", "publish", "--pr")
	if code != ExitOK {
		t.Fatalf("hotfix publish --pr without a token = %d:\n%s", code, out)
	}
	gitDir := filepath.Join(app, ".git", "canaryflow")
	wantPR := "gh pr create --repo acme/shop --base main --head hotfix/1.0.1 --title 'Release v1.0.1' --body-file " + filepath.Join(gitDir, "pr-hotfix-1.0.1-main.md")
	if !strings.Contains(out, wantPR) {
		t.Errorf("output lacks\n  %s\n%s", wantPR, out)
	}
	body, err := os.ReadFile(filepath.Join(gitDir, "pr-hotfix-1.0.1-main.md"))
	if err != nil || !strings.Contains(string(body), "### Fixes\n\n- **api:** timeout on empty body (") {
		t.Errorf("pull request body file: %v\n%s", err, body)
	}
	mergeOnHost(t, origin, "hotfix/1.0.1")
	code, out = run(t, app, "flow", "hotfix", "tag")
	if code != ExitOK {
		t.Fatalf("hotfix tag without a token = %d:\n%s", code, out)
	}
	wantRel := "gh release create v1.0.1 --repo acme/shop --verify-tag --title v1.0.1 --notes-file " + filepath.Join(gitDir, "release-v1.0.1.md")
	if !strings.Contains(out, wantRel) || !strings.Contains(out, "pushed develop to origin") || !strings.Contains(out, "branch hotfix/1.0.1 deleted on origin") {
		t.Errorf("hotfix tag output:\n%s", out)
	}
	if got, main := revParse(t, origin, "refs/tags/v1.0.1^{commit}"), revParse(t, origin, "refs/heads/main"); got != main {
		t.Errorf("v1.0.1 is not on origin's main")
	}
	if n := len(fake.all()); n != before {
		t.Errorf("%d requests reached GitHub without a token", n-before)
	}
}
