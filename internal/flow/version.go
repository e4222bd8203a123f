package flow

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Current returns the latest release tag reachable from main, or nil when
// there is none yet.
func (f *Flow) Current(ctx context.Context) (*semver.Version, error) {
	if err := f.requireBranch(ctx, f.opts.MainBranch); err != nil {
		return nil, err
	}
	return f.latestTag(ctx)
}

// Next computes the next version from the Conventional Commits on HEAD
// since the latest tag. With pre (e.g. "rc") it returns the next
// pre-release of that version: X.Y.Z-rc.1, then rc.2, and so on.
func (f *Flow) Next(ctx context.Context, pre string) (*semver.Version, Bump, error) {
	if pre != "" {
		if why := validPreID(pre); why != "" {
			return nil, BumpNone, badInput("use something like rc, beta or alpha", "--pre %q %s", pre, why)
		}
	}
	latest, err := f.Current(ctx)
	if err != nil {
		return nil, BumpNone, err
	}
	b, err := f.commitsBump(ctx, latest, "HEAD")
	if err != nil {
		return nil, BumpNone, err
	}
	if b == BumpNone {
		return nil, BumpNone, refuse("commit something first", "no commits since %s%s: nothing to release", f.opts.TagPrefix, latest)
	}
	base := semver.New(0, 0, 0, "", "")
	if latest != nil {
		base = latest
	}
	next, err := b.Apply(base)
	if err != nil {
		return nil, BumpNone, err
	}
	if pre == "" {
		return &next, b, nil
	}
	n, err := f.nextPreNumber(ctx, next.String(), pre)
	if err != nil {
		return nil, BumpNone, err
	}
	v, err := semver.StrictNewVersion(fmt.Sprintf("%s-%s.%d", next.String(), pre, n))
	if err != nil {
		return nil, BumpNone, badInput("", "--pre %q: %v", pre, err)
	}
	return v, b, nil
}

// validPreID reports why s cannot be a pre-release identifier.
func validPreID(s string) string {
	if len(s) > 32 {
		return "is longer than 32 characters"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return "may use only letters, digits and '-'"
		}
	}
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return "must start with a letter"
	}
	return ""
}

// nextPreNumber finds N for base-pre.N: one past the highest existing tag.
func (f *Flow) nextPreNumber(ctx context.Context, base, pre string) (int, error) {
	tags, err := f.repo.Tags(ctx)
	if err != nil {
		return 0, err
	}
	want := f.opts.TagPrefix + base + "-" + pre + "."
	n := 0
	for _, t := range tags {
		if rest, ok := strings.CutPrefix(t, want); ok {
			if k, err := strconv.Atoi(rest); err == nil && k > n && strconv.Itoa(k) == rest {
				n = k
			}
		}
	}
	if uint64(n) >= MaxVersionNumber {
		return 0, badInput("use another --pre identifier", "pre-release %s%s-%s.%d is at the limit of %d", f.opts.TagPrefix, base, pre, n, MaxVersionNumber)
	}
	return n + 1, nil
}

// commitsBump classifies the commits on head since the tag of latest (all
// of head's history when latest is nil), merges excluded.
func (f *Flow) commitsBump(ctx context.Context, latest *semver.Version, head string) (Bump, error) {
	rng := head
	if latest != nil {
		rng = "refs/tags/" + f.opts.TagPrefix + latest.Original() + ".." + head
	}
	out, err := f.repo.Run(ctx, "log", "--no-merges", "--format=%B%x1e", rng, "--")
	if err != nil {
		return BumpNone, err
	}
	var msgs []string
	for _, m := range strings.Split(out, "\x1e") {
		if m = strings.TrimSpace(m); m != "" {
			msgs = append(msgs, m)
		}
	}
	return CommitsBump(msgs), nil
}

// Mismatch is a version file that does not say the expected version.
type Mismatch struct {
	File string
	Got  string // empty with Err set when the file could not be read
	Err  error
}

// CheckResult is what `version check` found.
type CheckResult struct {
	Want   string   // expected version
	Source string   // where Want came from: "tag v1.2.3", "branch release/1.2.3", "argument"
	Files  []string // version files checked
	Bad    []Mismatch
}

// Check compares every version file with the expected version: want when
// given, else the release tag at HEAD, else the version in the name of the
// checked-out release or hotfix branch.
func (f *Flow) Check(ctx context.Context, want string) (*CheckResult, error) {
	res := &CheckResult{}
	if want != "" {
		v, err := ParseVersion(want)
		if err != nil {
			return nil, err
		}
		res.Want, res.Source = v.String(), "argument"
	} else {
		if has, err := f.repo.HasCommits(ctx); err == nil && !has {
			return nil, refuse("commit something first (`canaryflow flow init` makes an initial commit on "+f.opts.MainBranch+"),\nor give the version to check the files against: canaryflow version check X.Y.Z",
				"the repository has no commits yet: there is no tag at HEAD to check the version files against")
		}
		tags, err := f.repo.TagsAt(ctx, "HEAD")
		if err != nil {
			return nil, err
		}
		if v := highest(f.opts.TagPrefix, tags); v != nil {
			res.Want, res.Source = v.String(), "tag "+f.opts.TagPrefix+v.String()
		} else if cur, err := f.repo.CurrentBranch(ctx); err == nil {
			for _, p := range []string{f.opts.ReleasePrefix, f.opts.HotfixPrefix} {
				if name, ok := strings.CutPrefix(cur, p); ok {
					v, err := ParseVersion(name)
					if err != nil {
						return nil, badInput("", "branch %s: %v", cur, err)
					}
					res.Want, res.Source = v.String(), "branch "+cur
				}
			}
		}
		if res.Want == "" {
			return nil, badInput("give the version to check against: canaryflow version check X.Y.Z",
				"nothing to check against: HEAD has no %sX.Y.Z tag and is not on a %s or %s branch", f.opts.TagPrefix, f.opts.ReleasePrefix, f.opts.HotfixPrefix)
		}
	}
	res.Files = f.versionFiles()
	for _, p := range res.Files {
		got, err := readVersionFile(filepath.Join(f.repo.Dir, p))
		switch {
		case err != nil:
			res.Bad = append(res.Bad, Mismatch{File: p, Err: err})
		case got != res.Want:
			res.Bad = append(res.Bad, Mismatch{File: p, Got: got})
		}
	}
	return res, nil
}
