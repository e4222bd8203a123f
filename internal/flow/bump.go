package flow

import (
	"fmt"

	"github.com/Masterminds/semver/v3"
)

// Bump is a SemVer increment.
type Bump int

// Bumps from smallest to largest; BumpNone means nothing to release.
const (
	BumpNone Bump = iota
	BumpPatch
	BumpMinor
	BumpMajor
)

func (b Bump) String() string {
	return [...]string{"none", "patch", "minor", "major"}[b]
}

// ParseBump reads a --bump value; "auto" is handled by callers.
func ParseBump(s string) (Bump, error) {
	switch s {
	case "patch":
		return BumpPatch, nil
	case "minor":
		return BumpMinor, nil
	case "major":
		return BumpMajor, nil
	}
	return BumpNone, fmt.Errorf("--bump %q: want major, minor, patch or auto", s)
}

// Apply returns v incremented by b (prerelease and build dropped). A bump
// that would take a number past MaxVersionNumber is an error (exit 2), so
// no tag in a repository can make a bump overflow.
func (b Bump) Apply(v *semver.Version) (semver.Version, error) {
	base := *semver.New(v.Major(), v.Minor(), v.Patch(), "", "")
	num, name := uint64(0), ""
	switch b {
	case BumpMajor:
		num, name = v.Major(), "MAJOR"
	case BumpMinor:
		num, name = v.Minor(), "MINOR"
	case BumpPatch:
		num, name = v.Patch(), "PATCH"
	}
	if num >= MaxVersionNumber {
		return semver.Version{}, badInput("release a smaller version, or delete the tag if it was never meant",
			"cannot bump %s by %s: %s would pass the limit of %d", v, b, name, MaxVersionNumber)
	}
	switch b {
	case BumpMajor:
		return base.IncMajor(), nil
	case BumpMinor:
		return base.IncMinor(), nil
	case BumpPatch:
		return base.IncPatch(), nil
	}
	return base, nil
}

// CommitBump classifies one commit message: "!" after the type or a
// BREAKING CHANGE footer is major, feat is minor, and anything else is a
// patch — a change was made, so a release of it is at least a patch.
func CommitBump(message string) Bump {
	c := parseChange("", message)
	switch {
	case c.Breaking:
		return BumpMajor
	case c.Type == "feat":
		return BumpMinor
	}
	return BumpPatch
}

// CommitsBump is the largest bump among messages; BumpNone when empty.
func CommitsBump(messages []string) Bump {
	b := BumpNone
	for _, m := range messages {
		b = max(b, CommitBump(m))
	}
	return b
}
