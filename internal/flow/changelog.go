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
	"strings"

	"github.com/Masterminds/semver/v3"
)

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
