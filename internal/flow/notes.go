package flow

import (
	"context"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// ReleaseNotes are the notes of one release from its Conventional
// Commits, merges and version bumps left out. tag names a release tag
// (the prefix may be left off): its commits since the previous release
// tag it contains. Without tag, on a release or hotfix branch, they are
// the branch's version's notes so far (for its pull request); elsewhere,
// the latest release's.
func (f *Flow) ReleaseNotes(ctx context.Context, tag string) (Notes, error) {
	if tag == "" {
		if cur, err := f.repo.CurrentBranch(ctx); err == nil {
			for _, p := range []string{f.opts.ReleasePrefix, f.opts.HotfixPrefix} {
				if name, ok := strings.CutPrefix(cur, p); ok {
					v, err := ParseVersion(name)
					if err != nil {
						return Notes{}, badInput("", "branch %s: %v", cur, err)
					}
					latest, err := f.latestTag(ctx)
					if err != nil {
						return Notes{}, err
					}
					return f.notesSince(ctx, v.String(), latest, "HEAD")
				}
			}
		}
		latest, err := f.Current(ctx)
		if err != nil {
			return Notes{}, err
		}
		if latest == nil {
			return Notes{}, refuse("release one first: canaryflow flow release start", "no release tag on %s yet: no notes to print", f.opts.MainBranch)
		}
		tag = f.opts.TagPrefix + latest.Original()
	}
	v, ok := ParseTagVersion(f.opts.TagPrefix, tag)
	if !ok {
		if _, err := ParseVersion(tag); err == nil {
			tag = f.opts.TagPrefix + tag
			v, ok = ParseTagVersion(f.opts.TagPrefix, tag)
		}
	}
	if !ok {
		return Notes{}, badInput(fmt.Sprintf("give a release tag such as %s1.2.3", f.opts.TagPrefix), "%q is not a release tag", clipInput(tag))
	}
	exists, err := f.repo.TagExists(ctx, tag)
	if err != nil {
		return Notes{}, err
	}
	if !exists {
		return Notes{}, badInput("see the tags with: git tag --list", "tag %s does not exist", tag)
	}
	tags, err := f.repo.TagsMerged(ctx, "refs/tags/"+tag)
	if err != nil {
		return Notes{}, err
	}
	var prev *semver.Version
	for _, t := range tags {
		if tv, ok := ParseTagVersion(f.opts.TagPrefix, t); ok && tv.LessThan(v) && (prev == nil || tv.GreaterThan(prev)) {
			prev = tv
		}
	}
	n, err := f.notesSince(ctx, v.String(), prev, "refs/tags/"+tag)
	if err != nil {
		return Notes{}, err
	}
	date, err := f.repo.Output(ctx, "for-each-ref", "--format=%(creatordate:short)", "refs/tags/"+tag)
	if err == nil && date != "" {
		n.Date = date
	}
	return n, nil
}

// clipInput shortens user input for an error message.
func clipInput(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
