package flow

import (
	"errors"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

func TestParseVersion(t *testing.T) {
	valid := []string{
		"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7",
		"1.0.0-x.7.z.92", "1.0.0-x-y-z.--", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85",
		"1.0.0+21AF26D3----117B344092BD", "1.3.0-rc.1",
	}
	for _, s := range valid {
		v, err := ParseVersion(s)
		if err != nil {
			t.Errorf("ParseVersion(%q): %v", s, err)
			continue
		}
		if v.Original() != s {
			t.Errorf("ParseVersion(%q).Original() = %q", s, v.Original())
		}
	}
	invalid := []struct{ in, hint string }{
		{"", "empty"},
		{"1", ""},
		{"1.2", ""},
		{"1.2.3.4", ""},
		{"01.2.3", ""},
		{"1.02.3", ""},
		{"1.2.03", ""},
		{"1.0.0-01", ""}, // numeric pre-release identifiers have no leading zeros
		{"v1.2.3", "drop the 'v'"},
		{"V1.2.3", "drop the 'v'"},
		{"1.2.3-", ""},
		{"1.2.3+", ""},
		{"1.2.3-a..b", ""},
		{" 1.2.3", ""},
		{"1.2.3 ", ""},
		{"1.3.0;touch /tmp/x", ""},
		{"$(id)", ""},
		{"`id`", ""},
		{"1.2.3`id`", ""},
		{"-v1", "looks like an option"},
		{"--upload-pack=x", "looks like an option"},
		{"1.2.3\n", ""},
		{"1.2.3/../x", ""},
		{strings.Repeat("1", 200) + ".0.0", "longer than"},
	}
	for _, tc := range invalid {
		_, err := ParseVersion(tc.in)
		if err == nil {
			t.Errorf("ParseVersion(%q) accepted", tc.in)
			continue
		}
		if !errors.Is(err, ErrInvalidVersion) {
			t.Errorf("ParseVersion(%q) error %v is not ErrInvalidVersion", tc.in, err)
		}
		if tc.hint != "" && !strings.Contains(err.Error(), tc.hint) {
			t.Errorf("ParseVersion(%q) = %q, want hint %q", tc.in, err, tc.hint)
		}
	}
}

// TestPrecedence checks the ordering of semver.org §11, the example chain
// included: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta <
// 1.0.0-beta.2 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0.
func TestPrecedence(t *testing.T) {
	chain := []string{
		"0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0",
	}
	for i := 0; i+1 < len(chain); i++ {
		a, _ := ParseVersion(chain[i])
		b, _ := ParseVersion(chain[i+1])
		if !a.LessThan(b) || b.LessThan(a) {
			t.Errorf("want %s < %s", chain[i], chain[i+1])
		}
	}
	// Build metadata does not take part in precedence.
	a, _ := ParseVersion("1.0.0+a")
	b, _ := ParseVersion("1.0.0+b")
	if a.LessThan(b) || b.LessThan(a) {
		t.Errorf("build metadata changed precedence")
	}
}

func TestHighestTag(t *testing.T) {
	tags := []string{"v1.2.3", "v1.10.0", "v1.9.9", "notes", "v2.0.0-rc.1", "1.99.0", "v01.0.0", "vx"}
	if got := highest("v", tags); got == nil || got.String() != "2.0.0-rc.1" {
		t.Errorf("highest = %v, want 2.0.0-rc.1", got)
	}
	if got := highest("", tags); got == nil || got.String() != "1.99.0" {
		t.Errorf("highest without prefix = %v, want 1.99.0", got)
	}
	if got := highest("v", []string{"a", "b"}); got != nil {
		t.Errorf("highest of no release tags = %v, want nil", got)
	}
}

func TestCommitBump(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want Bump
	}{
		{"fix: crash on empty login", BumpPatch},
		{"fix(auth): crash", BumpPatch},
		{"feat: add login", BumpMinor},
		{"feat(api): add login", BumpMinor},
		{"FEAT: shouting", BumpMinor},
		{"feat!: drop v1 API", BumpMajor},
		{"fix(api)!: rename field", BumpMajor},
		{"chore: deps", BumpPatch},
		{"docs: readme", BumpPatch},
		{"Add login feature", BumpPatch}, // not conventional: still a change
		{"feat: x\n\nBREAKING CHANGE: the config moved", BumpMajor},
		{"fix: y\n\nBREAKING-CHANGE: z", BumpMajor},
		{"feat: x\n\nthis mentions BREAKING CHANGE: in prose", BumpMinor},
		{"feat:no space", BumpPatch},
		{"feat(: broken scope", BumpPatch},
	} {
		if got := CommitBump(tc.msg); got != tc.want {
			t.Errorf("CommitBump(%q) = %s, want %s", tc.msg, got, tc.want)
		}
	}
	if got := CommitsBump(nil); got != BumpNone {
		t.Errorf("no commits = %s, want none", got)
	}
	if got := CommitsBump([]string{"fix: a", "feat: b", "docs: c"}); got != BumpMinor {
		t.Errorf("fix+feat+docs = %s, want minor", got)
	}
}

func TestBumpApply(t *testing.T) {
	v, _ := ParseVersion("1.2.3-rc.1+build.5")
	for b, want := range map[Bump]string{BumpPatch: "1.2.4", BumpMinor: "1.3.0", BumpMajor: "2.0.0", BumpNone: "1.2.3"} {
		got, err := b.Apply(v)
		if err != nil || got.String() != want {
			t.Errorf("%s.Apply(1.2.3-rc.1+build.5) = %s, want %s", b, got.String(), want)
		}
	}
	if _, err := ParseBump("huge"); err == nil {
		t.Error("ParseBump(huge) accepted")
	}
}

// TestVersionLimit: numbers past MaxVersionNumber (and past uint64) are bad
// input, tags carrying them are not release tags, and a bump that would
// pass the limit is an exit-2 error, never a panic.
func TestVersionLimit(t *testing.T) {
	for _, s := range []string{"18446744073709551615.0.0", "0.18446744073709551616.0", "0.0.9223372036854775808", "99999999999999999999999.0.0-rc.1"} {
		_, err := ParseVersion(s)
		var ve *VersionError
		if !errors.As(err, &ve) || ve.ExitCode() != 2 || !strings.Contains(err.Error(), "over the limit of 9223372036854775807") {
			t.Errorf("ParseVersion(%q) = %v, want a VersionError naming the limit", s, err)
		}
		if _, ok := ParseTagVersion("v", "v"+s); ok {
			t.Errorf("tag v%s taken as a release tag", s)
		}
	}
	if v := highest("v", []string{"v1.0.0", "v18446744073709551615.0.0", "v2.0.0"}); v == nil || v.String() != "2.0.0" {
		t.Errorf("highest skipping an over-limit tag = %v, want 2.0.0", v)
	}
	top, err := ParseVersion("9223372036854775807.9223372036854775807.9223372036854775807")
	if err != nil {
		t.Fatalf("the limit itself is refused: %v", err)
	}
	for _, b := range []Bump{BumpPatch, BumpMinor, BumpMajor} {
		_, err := b.Apply(top)
		var fe *Error
		if !errors.As(err, &fe) || fe.Code != 2 || !strings.Contains(err.Error(), "would pass the limit") {
			t.Errorf("%s.Apply(limit) = %v, want an exit-2 error", b, err)
		}
	}
	if v, err := BumpMinor.Apply(semver.New(MaxVersionNumber, 1, MaxVersionNumber, "", "")); err != nil || v.String() != "9223372036854775807.2.0" {
		t.Errorf("minor bump below the limit = %v, %v", v.String(), err)
	}
}

// FuzzBump: any version the gate accepts can be bumped without a panic;
// the result is greater and within the limit, or the bump is refused.
func FuzzBump(f *testing.F) {
	for _, s := range []string{"1.2.3", "9223372036854775807.0.0", "0.9223372036854775807.9223372036854775806", "18446744073709551615.0.0"} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, s string, n uint8) {
		b := Bump(n % 4)
		v, ok := ParseTagVersion("v", "v"+s)
		if _, err := ParseVersion(s); err == nil && !ok {
			t.Fatalf("ParseVersion accepts %q, ParseTagVersion does not", s)
		}
		if !ok {
			return
		}
		next, err := b.Apply(v)
		if err != nil {
			return
		}
		if next.Major() > MaxVersionNumber || next.Minor() > MaxVersionNumber || next.Patch() > MaxVersionNumber {
			t.Fatalf("%s.Apply(%s) = %s, over the limit", b, s, next.String())
		}
		if b != BumpNone && !next.GreaterThan(v) {
			t.Fatalf("%s.Apply(%s) = %s, not greater", b, s, next.String())
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.2.3", "1.0.0-rc.1+b", "v1.2.3", "01.2.3", "1.3.0;touch /tmp/x", "--upload-pack=x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		// What the gate accepts is safe to hand to git and prints back as given.
		if v.String() != s {
			t.Fatalf("ParseVersion(%q).String() = %q", s, v.String())
		}
		if strings.ContainsAny(s, " \t\n;|&$`'\"\\<>(){}*?[]~!#") || strings.HasPrefix(s, "-") {
			t.Fatalf("accepted unsafe input %q", s)
		}
		w, err := ParseVersion(v.String())
		if err != nil || !w.Equal(v) {
			t.Fatalf("round trip of %q failed: %v", s, err)
		}
	})
}
