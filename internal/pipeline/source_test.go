package pipeline

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/flow"
)

// gitCmd runs git for test setup.
func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// remoteRepo makes a bare origin and a clone with main and develop.
func remoteRepo(t *testing.T) (origin, work string) {
	t.Helper()
	root := t.TempDir()
	origin, work = filepath.Join(root, "origin.git"), filepath.Join(root, "work")
	gitCmd(t, root, "init", "-q", "--bare", origin)
	gitCmd(t, root, "init", "-q", "-b", "main", work)
	gitCmd(t, work, "remote", "add", "origin", origin)
	gitCmd(t, work, "commit", "-q", "--allow-empty", "-m", "init")
	gitCmd(t, work, "branch", "develop")
	gitCmd(t, work, "push", "-q", "origin", "main", "develop")
	return origin, work
}

type memSeen struct {
	mu   sync.Mutex
	tags map[string]string
}

func (m *memSeen) LoadSeen(context.Context) (map[string]string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tags == nil {
		return nil, false, nil
	}
	cp := map[string]string{}
	for k, v := range m.tags {
		cp[k] = v
	}
	return cp, true, nil
}

func (m *memSeen) SaveSeen(_ context.Context, t map[string]string) error {
	m.mu.Lock()
	m.tags = t
	m.mu.Unlock()
	return nil
}

func tagsOf(rs []Release) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Tag)
	}
	return strings.Join(s, ",")
}

func TestSourcePollTriggersOnlyReleaseTagsOnMain(t *testing.T) {
	origin, work := remoteRepo(t)
	gitCmd(t, work, "tag", "-a", "-m", "old", "v0.9.0")
	gitCmd(t, work, "push", "-q", "origin", "v0.9.0")

	var logs bytes.Buffer
	seen := &memSeen{}
	src, err := NewSource(SourceOptions{
		URL: origin, MirrorDir: filepath.Join(t.TempDir(), "mirror"), Seen: seen,
		Trigger: Trigger{Exclude: []string{"*-wip*"}},
		Log:     slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// First poll: baseline, the old tag does not trigger.
	if rels, err := src.Poll(ctx); err != nil || len(rels) != 0 {
		t.Fatalf("baseline poll = %v, %v", tagsOf(rels), err)
	}

	gitCmd(t, work, "commit", "-q", "--allow-empty", "-m", "release")
	gitCmd(t, work, "tag", "-a", "-m", "r", "v1.0.0")
	gitCmd(t, work, "tag", "v1.10.0") // lightweight tags count too
	gitCmd(t, work, "tag", "v1.9.0")
	gitCmd(t, work, "tag", "nightly")     // not v*
	gitCmd(t, work, "tag", "v1.2")        // not SemVer
	gitCmd(t, work, "tag", "v01.0.0")     // leading zero
	gitCmd(t, work, "tag", "v2.0.0-wip1") // excluded
	gitCmd(t, work, "tag", "v1.0.0;id")   // shell metacharacters
	pwned := filepath.Join(t.TempDir(), "pwned")
	gitCmd(t, work, "tag", "v1.0.0$(touch${IFS}"+pwned+")")
	gitCmd(t, work, "switch", "-q", "develop")
	gitCmd(t, work, "commit", "-q", "--allow-empty", "-m", "on develop only")
	gitCmd(t, work, "tag", "v3.0.0") // not reachable from main
	gitCmd(t, work, "push", "-q", "origin", "main", "develop", "--tags")

	rels, err := src.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := tagsOf(rels); got != "v1.0.0,v1.9.0,v1.10.0" {
		t.Errorf("triggered %q, want v1.0.0,v1.9.0,v1.10.0 in SemVer order", got)
	}
	mainSHA := gitCmd(t, work, "rev-parse", "main")
	for _, r := range rels {
		if r.Commit != mainSHA {
			t.Errorf("%s commit %s, want main's %s (annotated tags peeled)", r.Tag, r.Commit, mainSHA)
		}
	}
	for _, want := range []string{`tag=nightly reason="matches no include`, `tag=v1.2 reason="\"1.2\" is not a strict SemVer`, `tag=v2.0.0-wip1 reason="matches exclude`, `tag=v1.0.0;id reason="tag has characters`, `tag=v3.0.0 reason="its commit is not reachable from main"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("a tag name reached a shell")
	}
	// Nothing new: nothing triggers again.
	if rels, _ := src.Poll(ctx); len(rels) != 0 {
		t.Errorf("second poll triggered %s", tagsOf(rels))
	}

	// v3.0.0 triggers once develop is merged into main.
	gitCmd(t, work, "switch", "-q", "main")
	gitCmd(t, work, "merge", "-q", "--no-ff", "-m", "merge", "develop")
	gitCmd(t, work, "push", "-q", "origin", "main")
	if rels, _ := src.Poll(ctx); tagsOf(rels) != "v3.0.0" {
		t.Errorf("after merge: %s, want v3.0.0", tagsOf(rels))
	}

	// A moved tag and a deleted-then-recreated tag never trigger.
	gitCmd(t, work, "commit", "-q", "--allow-empty", "-m", "later")
	gitCmd(t, work, "tag", "-f", "v1.9.0")
	gitCmd(t, work, "push", "-q", "-f", "origin", "main", "v1.9.0")
	gitCmd(t, work, "push", "-q", "origin", ":refs/tags/v1.10.0")
	if rels, _ := src.Poll(ctx); len(rels) != 0 {
		t.Errorf("moved/deleted tags triggered %s", tagsOf(rels))
	}
	gitCmd(t, work, "push", "-q", "origin", "v1.10.0")
	if rels, _ := src.Poll(ctx); len(rels) != 0 {
		t.Errorf("re-created tag triggered %s", tagsOf(rels))
	}
	if !strings.Contains(logs.String(), "tag=v1.9.0 reason=\"tag moved") {
		t.Errorf("moved tag not logged:\n%s", logs.String())
	}

	// A restarted source (same saved state) does not trigger old tags again,
	// but does trigger a tag pushed while it was down.
	gitCmd(t, work, "tag", "v4.0.0")
	gitCmd(t, work, "push", "-q", "origin", "v4.0.0")
	src2, _ := NewSource(SourceOptions{URL: origin, MirrorDir: filepath.Join(t.TempDir(), "mirror2"), Seen: seen})
	if rels, _ := src2.Poll(ctx); tagsOf(rels) != "v4.0.0" {
		t.Errorf("after restart: %s, want v4.0.0", tagsOf(rels))
	}
}

func TestSourceRunPollsAndPokes(t *testing.T) {
	origin, work := remoteRepo(t)
	tick := make(chan time.Time)
	src, _ := NewSource(SourceOptions{
		URL: origin, MirrorDir: filepath.Join(t.TempDir(), "m"),
		After: func(time.Duration) <-chan time.Time { return tick },
	})
	got := make(chan Release, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- src.Run(ctx, func(r Release) { got <- r }) }()

	gitCmd(t, work, "tag", "v1.0.0")
	gitCmd(t, work, "push", "-q", "origin", "v1.0.0")
	// The first poll may or may not have seen v1.0.0 as baseline; tick and
	// poke until a later tag arrives.
	gitCmd(t, work, "tag", "v1.1.0")
	gitCmd(t, work, "push", "-q", "origin", "v1.1.0")
	deadline := time.After(30 * time.Second)
	for {
		src.Poke()
		select {
		case r := <-got:
			if r.Tag == "v1.1.0" {
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				return
			}
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("v1.1.0 never triggered")
		}
	}
}

func TestSourceOptionsValidate(t *testing.T) {
	for _, o := range []SourceOptions{
		{MirrorDir: "x"},
		{URL: "--upload-pack=touch /tmp/x", MirrorDir: "x"},
		{URL: "x"},
		{URL: "x", MirrorDir: "x", Trigger: Trigger{Include: []string{"["}}},
	} {
		if _, err := NewSource(o); err == nil {
			t.Errorf("NewSource(%+v) accepted", o)
		}
	}
}

func TestTriggerMatch(t *testing.T) {
	for _, tc := range []struct {
		trig Trigger
		tag  string
		ok   bool
	}{
		{Trigger{}, "v1.2.3", true},
		{Trigger{}, "v1.2.3-rc.1+b5", true},
		{Trigger{}, "1.2.3", false},
		{Trigger{}, "v1.2", false},
		{Trigger{}, "vv1.2.3", false},
		{Trigger{}, "v1.2.3;touch x", false},
		{Trigger{}, "v$(id)", false},
		{Trigger{}, "-v1.0.0", false},
		{Trigger{}, "v1.0.0/../x", false},
		{Trigger{Exclude: []string{"*-rc*"}}, "v1.2.3-rc.1", false},
		{Trigger{Include: []string{"release-*"}, TagPrefix: "release-"}, "release-2.0.0", true},
		{Trigger{Include: []string{"*"}, NoTagPrefix: true}, "2.0.0", true},
		{Trigger{}, strings.Repeat("v", 300), false},
		{Trigger{}, "v18446744073709551615.0.0", false},
		{Trigger{}, "v9223372036854775808.0.0", false},
		{Trigger{}, "v9223372036854775807.0.0", true},
	} {
		v, reason := tc.trig.Match(tc.tag)
		if (v != nil) != tc.ok {
			t.Errorf("%+v.Match(%q) = %v (%s), want ok=%v", tc.trig, tc.tag, v, reason, tc.ok)
		}
		if v == nil && reason == "" {
			t.Errorf("Match(%q) refused without a reason", tc.tag)
		}
	}
}

func FuzzTriggerMatch(f *testing.F) {
	for _, s := range []string{"v1.2.3", "v1.0.0-rc.1", "v1.2.3;id", "-x", "v$(id)", "v18446744073709551615.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		v, _ := Trigger{}.Match(tag)
		if v == nil {
			return
		}
		if strings.ContainsAny(tag, " \t\n;|&$`'\"\\<>(){}*?[]~!#") || strings.HasPrefix(tag, "-") {
			t.Fatalf("accepted unsafe tag %q", tag)
		}
		if "v"+v.Original() != tag {
			t.Fatalf("tag %q gave version %q", tag, v.Original())
		}
		if v.Major() > flow.MaxVersionNumber || v.Minor() > flow.MaxVersionNumber || v.Patch() > flow.MaxVersionNumber {
			t.Fatalf("tag %q is over the version limit", tag)
		}
	})
}
