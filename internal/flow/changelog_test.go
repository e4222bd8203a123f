package flow

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseCommit(t *testing.T) {
	tests := []struct {
		name, msg string
		want      Change
		dropped   bool
	}{
		{name: "feat with scope", msg: "feat(auth): add login\n",
			want: Change{Type: "feat", Scope: "auth", Description: "add login", Subject: "feat(auth): add login"}},
		{name: "fix", msg: "fix: crash on empty body",
			want: Change{Type: "fix", Description: "crash on empty body", Subject: "fix: crash on empty body"}},
		{name: "breaking by !", msg: "feat(api)!: drop /v1",
			want: Change{Type: "feat", Scope: "api", Description: "drop /v1", Subject: "feat(api)!: drop /v1", Breaking: true}},
		{name: "breaking by footer", msg: "refactor: new config loader\n\nBody text.\n\nBREAKING CHANGE: `port` is now `listen`\n",
			want: Change{Type: "refactor", Description: "new config loader", Subject: "refactor: new config loader", Breaking: true, BreakingNote: "`port` is now `listen`"}},
		{name: "breaking by hyphenated footer", msg: "fix: x\n\nBREAKING-CHANGE: y",
			want: Change{Type: "fix", Description: "x", Subject: "fix: x", Breaking: true, BreakingNote: "y"}},
		{name: "footer only in the body counts, not the subject", msg: "docs: explain BREAKING CHANGE: nothing",
			want: Change{Type: "docs", Description: "explain BREAKING CHANGE: nothing", Subject: "docs: explain BREAKING CHANGE: nothing"}},
		{name: "type case folded", msg: "Feat: Shout",
			want: Change{Type: "feat", Description: "Shout", Subject: "Feat: Shout"}},
		{name: "conventional revert", msg: "revert: feat(auth): add login\n\nThis reverts commit abc.",
			want: Change{Type: "revert", Description: "feat(auth): add login", Subject: "revert: feat(auth): add login"}},
		{name: "git's revert", msg: "Revert \"feat(auth): add login\"\n\nThis reverts commit abc.",
			want: Change{Description: `Revert "feat(auth): add login"`, Subject: `Revert "feat(auth): add login"`}},
		{name: "not conventional", msg: "Add login feature",
			want: Change{Description: "Add login feature", Subject: "Add login feature"}},
		{name: "no space after colon", msg: "feat:login",
			want: Change{Description: "feat:login", Subject: "feat:login"}},
		{name: "CRLF", msg: "fix(ui): wrap\r\n\r\nBREAKING CHANGE: old themes\r\n",
			want: Change{Type: "fix", Scope: "ui", Description: "wrap", Subject: "fix(ui): wrap", Breaking: true, BreakingNote: "old themes"}},
		{name: "version bump dropped", msg: "Bump version to 1.2.3", dropped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseCommit("abc1234", tt.msg)
			if ok == tt.dropped {
				t.Fatalf("ok = %v, want %v", ok, !tt.dropped)
			}
			if tt.dropped {
				return
			}
			tt.want.Hash = "abc1234"
			if got != tt.want {
				t.Errorf("ParseCommit(%q)\n got %+v\nwant %+v", tt.msg, got, tt.want)
			}
		})
	}
}

func TestNotesMarkdown(t *testing.T) {
	var cs []Change
	for i, m := range []string{
		"feat(api)!: drop /v1",
		"refactor: loader\n\nBREAKING CHANGE: `port` is now `listen`",
		"feat(auth): add login",
		"feat: dark mode",
		"fix(ui): wrap long names",
		"docs(readme): protected flow",
		`Revert "feat: beta banner"`,
		"Add a file by hand",
	} {
		c, ok := ParseCommit(string(rune('a'+i))+"000000", m)
		if !ok {
			t.Fatalf("%q dropped", m)
		}
		cs = append(cs, c)
	}
	got := NewNotes("1.3.0", "2026-12-05", cs).Section()
	want := "## [1.3.0] - 2026-12-05\n\n" +
		"### Breaking changes\n\n" +
		"- **api:** drop /v1 (a000000)\n" +
		"- loader — `port` is now `listen` (b000000)\n\n" +
		"### Features\n\n" +
		"- **auth:** add login (c000000)\n" +
		"- dark mode (d000000)\n\n" +
		"### Fixes\n\n" +
		"- **ui:** wrap long names (e000000)\n\n" +
		"### Other\n\n" +
		"- docs: **readme:** protected flow (f000000)\n" +
		"- Revert \"feat: beta banner\" (g000000)\n" +
		"- Add a file by hand (h000000)\n"
	if got != want {
		t.Errorf("notes:\n%s\nwant:\n%s", got, want)
	}
	if got := NewNotes("1.0.1", "2026-12-05", nil).Markdown(); got != "_No changes since the previous release._\n" {
		t.Errorf("empty notes = %q", got)
	}
}

func TestInsertSection(t *testing.T) {
	n := NewNotes("1.3.0", "2026-12-05", []Change{{Hash: "abc1234", Type: "fix", Description: "x", Subject: "fix: x"}})
	fresh, err := InsertSection(nil, n)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(fresh), "# Changelog\n") || !strings.HasSuffix(string(fresh), "## [1.3.0] - 2026-12-05\n\n### Fixes\n\n- x (abc1234)\n") {
		t.Errorf("new changelog:\n%s", fresh)
	}
	old := "# Changelog\n\n## [Unreleased]\n\n- wip\n\n## [1.2.0] - 2026-11-01\n\n### Fixes\n\n- y (def5678)\n"
	got, err := InsertSection([]byte(old), n)
	if err != nil {
		t.Fatal(err)
	}
	i130, i120, iun := strings.Index(string(got), "## [1.3.0]"), strings.Index(string(got), "## [1.2.0]"), strings.Index(string(got), "## [Unreleased]")
	if !(iun < i130 && i130 < i120) {
		t.Errorf("sections out of order:\n%s", got)
	}
	if _, err := InsertSection(got, n); err == nil || !strings.Contains(err.Error(), "already has a section for 1.3.0") {
		t.Errorf("second insert: err = %v", err)
	}
}

func TestMergeChangelogs(t *testing.T) {
	base := "# Changelog\n\n## [1.2.3] - 2026-11-01\n\n- a (1)\n"
	hotfix := "# Changelog\n\n## [1.2.4] - 2026-11-03\n\n- b (2)\n\n## [1.2.3] - 2026-11-01\n\n- a (1)\n"
	release := "# Changelog\n\n## [1.3.0] - 2026-11-02\n\n- c (3)\n\n## [1.2.3] - 2026-11-01\n\n- a (1)\n"
	got, ok := MergeChangelogs([]byte(hotfix), []byte(release))
	if !ok {
		t.Fatal("not merged")
	}
	want := "# Changelog\n\n## [1.3.0] - 2026-11-02\n\n- c (3)\n\n## [1.2.4] - 2026-11-03\n\n- b (2)\n\n## [1.2.3] - 2026-11-01\n\n- a (1)\n"
	if string(got) != want {
		t.Errorf("merged:\n%s\nwant:\n%s", got, want)
	}
	edited := strings.Replace(release, "- a (1)", "- a, edited (1)", 1)
	if _, ok := MergeChangelogs([]byte(hotfix), []byte(edited)); ok {
		t.Error("sides that disagree on 1.2.3 were merged")
	}
	if _, ok := MergeChangelogs([]byte(base+"\n## [next]\n"), []byte(base)); ok {
		t.Error("a heading that is not a version was merged")
	}
}

// FuzzParseCommit checks that any message parses without panicking into
// notes that stay on one line each, valid UTF-8 in, valid UTF-8 out.
func FuzzParseCommit(f *testing.F) {
	for _, s := range []string{
		"feat(auth)!: add login\n\nBREAKING CHANGE: x",
		"fix: y", "Revert \"feat: z\"", "Bump version to 1.2.3", "", "((: )", "feat():  ",
		strings.Repeat("é", 400),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		c, ok := ParseCommit("abc1234", msg)
		if !ok {
			return
		}
		for _, s := range []string{c.Type, c.Scope, c.Description, c.Subject, c.BreakingNote} {
			if strings.ContainsAny(s, "\n") {
				t.Fatalf("a field spans lines: %+v from %q", c, msg)
			}
			if len(s) > maxNoteLen+len("…") {
				t.Fatalf("a field is %d bytes: %+v", len(s), c)
			}
			if utf8.ValidString(msg) && !utf8.ValidString(s) {
				t.Fatalf("a field is not UTF-8: %q from %q", s, msg)
			}
		}
		md := NewNotes("1.0.0", "2026-01-01", []Change{c}).Markdown()
		if !strings.Contains(md, "(abc1234)") {
			t.Fatalf("the commit is missing from the notes:\n%s", md)
		}
	})
}

// FuzzMergeChangelogs checks that merging any two changelogs never panics,
// and that a merge it accepts keeps every version of both sides once.
func FuzzMergeChangelogs(f *testing.F) {
	f.Add("# Changelog\n\n## [1.2.4] - d\n\n- b\n\n## [1.2.3] - d\n\n- a\n", "# Changelog\n\n## [1.3.0] - d\n\n- c\n\n## [1.2.3] - d\n\n- a\n")
	f.Add("", "## [Unreleased]\n")
	f.Add("## [1.0.0]\n## [1.0.0]\n", "<<<<<<< ours\n")
	f.Fuzz(func(t *testing.T, ours, theirs string) {
		merged, ok := MergeChangelogs([]byte(ours), []byte(theirs))
		if !ok {
			return
		}
		_, sections, ok := splitChangelog(merged)
		if !ok {
			t.Fatalf("the merge cannot be read back:\n%s", merged)
		}
		for _, side := range []string{ours, theirs} {
			_, secs, _ := splitChangelog([]byte(side))
			for v := range secs {
				if _, found := sections[v]; !found {
					t.Fatalf("version %q lost in the merge:\n%s", v, merged)
				}
			}
		}
	})
}

func TestReplaceSection(t *testing.T) {
	old := "# Changelog\n\n## [1.2.4] - 2026-11-03\n\n_No changes since the previous release._\n\n## [1.2.3] - 2026-11-01\n\n- a (1)\n"
	n := NewNotes("1.2.4", "2026-11-04", []Change{{Hash: "abc1234", Type: "fix", Description: "crash", Subject: "fix: crash"}})
	got := string(ReplaceSection([]byte(old), n))
	want := "# Changelog\n\n## [1.2.4] - 2026-11-04\n\n### Fixes\n\n- crash (abc1234)\n\n## [1.2.3] - 2026-11-01\n\n- a (1)\n"
	if got != want {
		t.Errorf("replaced:\n%s\nwant:\n%s", got, want)
	}
	if again := string(ReplaceSection([]byte(got), n)); again != got {
		t.Errorf("a second replace changed the file:\n%s", again)
	}
	last := "# Changelog\n\n## [1.2.4] - 2026-11-03\n\n- old (1)\n"
	if got := string(ReplaceSection([]byte(last), n)); got != "# Changelog\n\n## [1.2.4] - 2026-11-04\n\n### Fixes\n\n- crash (abc1234)\n" {
		t.Errorf("the last section replaced:\n%s", got)
	}
	if got := string(ReplaceSection(nil, n)); !strings.HasPrefix(got, "# Changelog\n") || !strings.Contains(got, "## [1.2.4] - 2026-11-04") {
		t.Errorf("no changelog yet:\n%s", got)
	}
}
