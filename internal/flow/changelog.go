package flow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Change is one commit as release notes show it.
type Change struct {
	// Hash is the short commit name.
	Hash string
	// Type is the Conventional Commits type in lower case ("feat", "fix",
	// "docs", …); empty for a subject that is not Conventional.
	Type string
	// Scope is the text between the type's parentheses; empty when none.
	Scope string
	// Description is the subject after "type(scope)!: ", or the whole
	// subject of a commit that is not Conventional.
	Description string
	// Subject is the commit's first line as written.
	Subject string
	// Breaking is set by "!" after the type or a BREAKING CHANGE footer.
	Breaking bool
	// BreakingNote is the text of the BREAKING CHANGE footer, if any.
	BreakingNote string
}

// conventionalParts splits a Conventional Commits subject: type, (scope),
// "!" and the description.
var conventionalParts = regexp.MustCompile(`^([A-Za-z]+)(?:\(([^()\r\n]*)\))?(!)?: (\S.*)$`)

// bumpSubject matches the subjects of the commits flow makes itself: a
// start's version bump and a finish's changelog update. Release notes
// leave these out, as they leave out merges.
var bumpSubject = regexp.MustCompile(`^(Bump version to|Update the changelog for) \S+$`)

// maxNoteLen bounds one line of release notes taken from a commit.
const maxNoteLen = 300

// ParseCommit reads one commit message for release notes. ok is false for
// a commit the notes leave out (a version bump); a message that is not
// Conventional is kept, with an empty Type, so it lands under Other.
func ParseCommit(hash, message string) (c Change, ok bool) {
	c = parseChange(hash, message)
	if bumpSubject.MatchString(c.Subject) {
		return Change{}, false
	}
	return c, true
}

// parseChange reads a commit message by the Conventional Commits grammar,
// for the notes and for CommitBump alike.
func parseChange(hash, message string) Change {
	message = strings.ReplaceAll(message, "\r\n", "\n")
	subject, body, _ := strings.Cut(strings.TrimLeft(message, "\n"), "\n")
	subject = oneLine(subject)
	c := Change{Hash: hash, Subject: subject, Description: subject}
	if m := conventionalParts.FindStringSubmatch(subject); m != nil {
		c.Type, c.Scope, c.Breaking, c.Description = strings.ToLower(m[1]), strings.TrimSpace(m[2]), m[3] == "!", m[4]
	}
	for _, line := range strings.Split(body, "\n") {
		for _, key := range []string{"BREAKING CHANGE:", "BREAKING-CHANGE:"} {
			if note, found := strings.CutPrefix(line, key); found {
				c.Breaking = true
				if c.BreakingNote == "" {
					c.BreakingNote = oneLine(note)
				}
			}
		}
	}
	return c
}

// oneLine trims s and cuts it to maxNoteLen, so one commit cannot swamp
// the notes.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxNoteLen {
		cut := maxNoteLen
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

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

// Empty reports whether no commit made it into the notes.
func (n Notes) Empty() bool {
	return len(n.Breaking)+len(n.Features)+len(n.Fixes)+len(n.Other) == 0
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

const changelogHeader = `# Changelog

All notable changes to this project are documented in this file.
The format is based on Keep a Changelog (https://keepachangelog.com/en/1.1.0/),
and this project adheres to Semantic Versioning (https://semver.org/).
`

// versionHeading finds a "## [X.Y.Z]" heading line.
var versionHeading = regexp.MustCompile(`(?m)^## \[([^\]\n]*)\]`)

// InsertSection puts a version's section into a changelog: after the
// title and an [Unreleased] section, above the previous versions. An empty
// file gets the Keep a Changelog header first. A file that already has
// the version is refused, so a start never writes a release twice.
func InsertSection(changelog []byte, n Notes) ([]byte, error) {
	if len(bytes.TrimSpace(changelog)) == 0 {
		changelog = []byte(changelogHeader)
	}
	at := len(changelog)
	for _, m := range versionHeading.FindAllSubmatchIndex(changelog, -1) {
		name := string(changelog[m[2]:m[3]])
		if name == n.Version {
			return nil, fmt.Errorf("it already has a section for %s", n.Version)
		}
		if strings.EqualFold(name, "unreleased") {
			continue
		}
		at = m[0]
		break
	}
	head := bytes.TrimRight(changelog[:at], "\n")
	out := append([]byte{}, head...)
	out = append(out, "\n\n"...)
	out = append(out, n.Section()...)
	if rest := changelog[at:]; len(bytes.TrimSpace(rest)) > 0 {
		out = append(out, '\n')
		out = append(out, rest...)
	}
	return out, nil
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

// writeChangelog adds the notes' section to the configured changelog,
// creating the file with its header when there is none.
func (f *Flow) writeChangelog(n Notes) error {
	path := filepath.Join(f.repo.Dir, f.opts.Changelog)
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", f.opts.Changelog, err)
	}
	updated, err := InsertSection(old, n)
	if err != nil {
		return badInput("remove that section, commit, and start again (or set release.changelog: \"\")", "changelog %s: %v", f.opts.Changelog, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, updated, 0o644)
}

// MergeChangelogs settles a changelog that both sides of a merge changed,
// as after a hotfix released during a release: each side added its own
// version's section. The result has ours' header and every version's
// section once, the highest version first. ok is false when the sides
// disagree on a version's text or a heading is not a version, so the
// conflict is left to a person.
func MergeChangelogs(ours, theirs []byte) (merged []byte, ok bool) {
	headOurs, secOurs, ok := splitChangelog(ours)
	if !ok {
		return nil, false
	}
	_, secTheirs, ok := splitChangelog(theirs)
	if !ok {
		return nil, false
	}
	all := map[string][]byte{}
	var versions []*semver.Version
	for _, secs := range []map[string][]byte{secOurs, secTheirs} {
		for name, text := range secs {
			if prev, seen := all[name]; seen {
				if !bytes.Equal(bytes.TrimSpace(prev), bytes.TrimSpace(text)) {
					return nil, false
				}
				continue
			}
			v, err := semver.StrictNewVersion(name)
			if err != nil {
				return nil, false
			}
			all[name] = text
			versions = append(versions, v)
		}
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i].GreaterThan(versions[j]) })
	out := append([]byte{}, bytes.TrimRight(headOurs, "\n")...)
	for _, v := range versions {
		out = append(out, "\n\n"...)
		out = append(out, bytes.TrimRight(all[v.Original()], "\n")...)
	}
	return append(out, '\n'), true
}

// splitChangelog cuts a changelog into what comes before its first
// version section (title, [Unreleased]) and each version's section.
func splitChangelog(data []byte) (head []byte, sections map[string][]byte, ok bool) {
	if bytes.Contains(data, []byte("\n<<<<<<< ")) || bytes.HasPrefix(data, []byte("<<<<<<< ")) {
		return nil, nil, false
	}
	sections = map[string][]byte{}
	ms := versionHeading.FindAllSubmatchIndex(data, -1)
	head = data
	var starts []int
	for _, m := range ms {
		if strings.EqualFold(string(data[m[2]:m[3]]), "unreleased") {
			continue
		}
		starts = append(starts, m[0])
	}
	if len(starts) > 0 {
		head = data[:starts[0]]
	}
	for i, at := range starts {
		end := len(data)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		m := versionHeading.FindSubmatchIndex(data[at:end])
		name := string(data[at+m[2] : at+m[3]])
		if _, dup := sections[name]; dup {
			return nil, nil, false
		}
		sections[name] = data[at:end]
	}
	return head, sections, true
}

// ReplaceSection puts the notes' section in place of the changelog's
// section for the same version, or inserts it when there is none.
func ReplaceSection(changelog []byte, n Notes) []byte {
	ms := versionHeading.FindAllSubmatchIndex(changelog, -1)
	for i, m := range ms {
		if string(changelog[m[2]:m[3]]) != n.Version {
			continue
		}
		end := len(changelog)
		if i+1 < len(ms) {
			end = ms[i+1][0]
		}
		out := append([]byte{}, changelog[:m[0]]...)
		out = append(out, n.Section()...)
		if end < len(changelog) {
			out = append(out, '\n')
			out = append(out, changelog[end:]...)
		}
		return out
	}
	out, err := InsertSection(changelog, n)
	if err != nil {
		return changelog // InsertSection refuses only a version that is there
	}
	return out
}

// refreshChangelog brings the version's section of changelog on branch
// up to date: commits made on the branch since its start (a hotfix's fix,
// a release's last fixes) join the notes, dated today. It commits "Update
// the changelog for X.Y.Z" on branch when anything changed, reports
// whether it did, and leaves branch checked out.
func (f *Flow) refreshChangelog(ctx context.Context, changelog, branch, version string) (bool, error) {
	latest, err := f.latestTag(ctx)
	if err != nil {
		return false, err
	}
	n, err := f.notesSince(ctx, version, latest, "refs/heads/"+branch)
	if err != nil {
		return false, err
	}
	old, _, err := f.repo.ShowFile(ctx, "refs/heads/"+branch, changelog)
	if err != nil {
		return false, err
	}
	updated := ReplaceSection(old, n)
	if bytes.Equal(updated, old) {
		return false, nil
	}
	if err := f.switchTo(ctx, branch); err != nil {
		return false, err
	}
	path := filepath.Join(f.repo.Dir, changelog)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	if err := writeFileAtomic(path, updated, 0o644); err != nil {
		return false, err
	}
	if err := f.repo.Commit(ctx, "Update the changelog for "+version, changelog); err != nil {
		return false, err
	}
	return true, nil
}
