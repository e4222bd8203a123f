// Package pipeline is canaryflow's local CodePipeline: a source that
// watches a git remote for release tags (by polling and by GitHub
// webhooks), a trigger filter like CodePipeline V2's, and executions that
// run Source → Build → Deploy for one tag, persisted with each stage's
// status, times and logs.
package pipeline

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/canaryflow/canaryflow/internal/flow"
)

// Trigger decides which tags start an execution, like a CodePipeline V2
// git tag trigger: include and exclude globs, then canaryflow's own rules —
// strict SemVer after the tag prefix, and (checked by the source, which has
// the commits) the tag's commit reachable from main.
type Trigger struct {
	// Include globs (path.Match syntax); zero means ["v*"].
	Include []string
	// Exclude globs; a tag matching one never triggers.
	Exclude []string
	// TagPrefix precedes the version in a tag; zero means "v".
	TagPrefix string
	// NoTagPrefix means tags are bare versions.
	NoTagPrefix bool
}

func (t Trigger) prefix() string {
	if t.NoTagPrefix {
		return ""
	}
	if t.TagPrefix == "" {
		return "v"
	}
	return t.TagPrefix
}

// Validate reports globs that cannot match anything.
func (t Trigger) Validate() error {
	for _, g := range append(append([]string{}, t.Include...), t.Exclude...) {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("trigger glob %q: %w", g, err)
		}
	}
	return nil
}

// maxTagLen bounds tag names read from a remote or a webhook.
const maxTagLen = 200

// tagChars is what a release tag may contain: enough for any SemVer tag,
// nothing a shell or git option parser would treat specially.
var tagChars = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+/-]*$`)

// Match reports whether tag triggers an execution, with the version it
// names; when it does not, reason says why (for the log).
func (t Trigger) Match(tag string) (version *semver.Version, reason string) {
	if len(tag) > maxTagLen {
		return nil, fmt.Sprintf("tag longer than %d characters", maxTagLen)
	}
	if !tagChars.MatchString(tag) || strings.Contains(tag, "..") {
		return nil, "tag has characters no release tag has"
	}
	include := t.Include
	if len(include) == 0 {
		include = []string{"v*"}
	}
	matched := false
	for _, g := range include {
		if ok, _ := path.Match(g, tag); ok {
			matched = true
			break
		}
	}
	if !matched {
		return nil, fmt.Sprintf("matches no include pattern %v", include)
	}
	for _, g := range t.Exclude {
		if ok, _ := path.Match(g, tag); ok {
			return nil, fmt.Sprintf("matches exclude pattern %q", g)
		}
	}
	rest, ok := strings.CutPrefix(tag, t.prefix())
	if !ok {
		return nil, fmt.Sprintf("does not start with the tag prefix %q", t.prefix())
	}
	v, ok := flow.ParseTagVersion(t.prefix(), tag)
	if !ok {
		return nil, fmt.Sprintf("%q is not a strict SemVer version with numbers up to %d", rest, flow.MaxVersionNumber)
	}
	return v, ""
}

// shaPattern is a full git object name.
var shaPattern = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// validSHA reports whether s is a full object name (SHA-1 or SHA-256).
func validSHA(s string) bool { return shaPattern.MatchString(s) }
