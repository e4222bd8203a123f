package flow

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

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

// Notes are one release's changes, by section.
type Notes struct {
	Version  string
	Date     string // YYYY-MM-DD
	Breaking []Change
	Features []Change
	Fixes    []Change
	Other    []Change
}

// NewNotes sorts changes (newest first, as git log gives them) into the
// sections: breaking first, whatever the type; then feat, fix, and the
// rest, reverts and non-Conventional subjects included.
func NewNotes(version, date string, changes []Change) Notes {
	n := Notes{Version: version, Date: date}
	for _, c := range changes {
		switch {
		case c.Breaking:
			n.Breaking = append(n.Breaking, c)
		case c.Type == "feat":
			n.Features = append(n.Features, c)
		case c.Type == "fix":
			n.Fixes = append(n.Fixes, c)
		default:
			n.Other = append(n.Other, c)
		}
	}
	return n
}

// Markdown renders the sections alone: a pull request's body, a GitHub
// Release's notes, a pipeline execution's summary.
func (n Notes) Markdown() string {
	var b strings.Builder
	section := func(title string, cs []Change, entry func(Change) string) {
		if len(cs) == 0 {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "### %s\n\n", title)
		for _, c := range cs {
			fmt.Fprintf(&b, "- %s (%s)\n", entry(c), c.Hash)
		}
	}
	scoped := func(c Change) string {
		if c.Scope != "" {
			return "**" + c.Scope + ":** " + c.Description
		}
		return c.Description
	}
	section("Breaking changes", n.Breaking, func(c Change) string {
		if c.BreakingNote != "" && c.BreakingNote != c.Description {
			return scoped(c) + " — " + c.BreakingNote
		}
		return scoped(c)
	})
	section("Features", n.Features, scoped)
	section("Fixes", n.Fixes, scoped)
	section("Other", n.Other, func(c Change) string {
		if c.Type == "" {
			return c.Subject
		}
		return c.Type + ": " + scoped(c)
	})
	if b.Len() == 0 {
		return "_No changes since the previous release._\n"
	}
	return b.String()
}

// Section renders the notes as a Keep a Changelog version section.
func (n Notes) Section() string {
	return fmt.Sprintf("## [%s] - %s\n\n%s", n.Version, n.Date, n.Markdown())
}

// changes reads the commits of rng (merges left out) as Changes, newest
// first; version bumps are dropped.
func (f *Flow) changes(ctx context.Context, rng string) ([]Change, error) {
	out, err := f.repo.Run(ctx, "log", "--no-merges", "--topo-order", "--format=%h%x1f%B%x1e", rng, "--")
	if err != nil {
		return nil, err
	}
	var cs []Change
	for _, rec := range strings.Split(out, "\x1e") {
		rec = strings.TrimLeft(rec, "\n")
		hash, msg, found := strings.Cut(rec, "\x1f")
		if !found {
			continue
		}
		if c, ok := ParseCommit(hash, msg); ok {
			cs = append(cs, c)
		}
	}
	return cs, nil
}

// notesSince gathers the notes of head since the release tag of prev
// (all of head's history when prev is nil), dated by git's committer
// clock (GIT_COMMITTER_DATE when set).
func (f *Flow) notesSince(ctx context.Context, version string, prev *semver.Version, head string) (Notes, error) {
	rng := head
	if prev != nil {
		rng = "refs/tags/" + f.opts.TagPrefix + prev.Original() + ".." + head
	}
	cs, err := f.changes(ctx, rng)
	if err != nil {
		return Notes{}, err
	}
	date, err := f.today(ctx)
	if err != nil {
		return Notes{}, err
	}
	return NewNotes(version, date, cs), nil
}

// today is the committer's date as git sees it: the clock a commit made
// now would carry, so GIT_COMMITTER_DATE sets it in tests and scripts.
func (f *Flow) today(ctx context.Context) (string, error) {
	ident, err := f.repo.Output(ctx, "var", "GIT_COMMITTER_IDENT")
	if err != nil {
		return "", err
	}
	fields := strings.Fields(ident)
	if len(fields) < 2 {
		return "", fmt.Errorf("git var GIT_COMMITTER_IDENT: unexpected %q", ident)
	}
	secs, err := strconv.ParseInt(fields[len(fields)-2], 10, 64)
	if err != nil {
		return "", fmt.Errorf("git var GIT_COMMITTER_IDENT: unexpected %q", ident)
	}
	zone := fields[len(fields)-1]
	offset := 0
	if len(zone) == 5 {
		h, _ := strconv.Atoi(zone[1:3])
		m, _ := strconv.Atoi(zone[3:5])
		offset = (h*60 + m) * 60
		if zone[0] == '-' {
			offset = -offset
		}
	}
	return time.Unix(secs, 0).In(time.FixedZone(zone, offset)).Format(time.DateOnly), nil
}
