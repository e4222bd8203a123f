package flow

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// ErrInvalidVersion is the sentinel under every *VersionError.
var ErrInvalidVersion = errors.New("invalid version")

// VersionError is user input that is not a strict SemVer version. It is
// raised before any git command runs.
type VersionError struct {
	Input string
	Hint  string
}

func (e *VersionError) Error() string {
	msg := fmt.Sprintf("%q is not a valid version: want MAJOR.MINOR.PATCH with optional -prerelease and +build, e.g. 1.2.3 or 1.3.0-rc.1", e.Input)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrInvalidVersion) true.
func (e *VersionError) Unwrap() error { return ErrInvalidVersion }

// ExitCode marks a bad version as a usage error.
func (e *VersionError) ExitCode() int { return 2 }

// maxVersionLen bounds version input; nothing legitimate comes close.
const maxVersionLen = 128

// MaxVersionNumber is the largest MAJOR, MINOR or PATCH canaryflow accepts
// (2^63-1). SemVer sets no limit, but a number must fit the integers that
// compare and increment it; a version beyond this is invalid input, a tag
// beyond it is not a release tag, and a bump past it is refused.
const MaxVersionNumber uint64 = 1<<63 - 1

// overLimit says which number of the MAJOR.MINOR.PATCH core of s is over
// MaxVersionNumber, or "" when none is (or s has no such core).
func overLimit(s string) string {
	core, _, _ := strings.Cut(s, "+")
	core, _, _ = strings.Cut(core, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return ""
	}
	for i, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return ""
		}
		if n, err := strconv.ParseUint(p, 10, 64); err != nil || n > MaxVersionNumber {
			return fmt.Sprintf("%s is over the limit of %d", [...]string{"MAJOR", "MINOR", "PATCH"}[i], MaxVersionNumber)
		}
	}
	return ""
}

// ParseVersion is the strict SemVer gate: MAJOR.MINOR.PATCH, optional
// -prerelease and +build, no leading zeros, no "v". It runs before any git
// command, so input like "1.3.0;touch /tmp/x" or "--upload-pack=x" never
// reaches git.
func ParseVersion(s string) (*semver.Version, error) {
	if len(s) > maxVersionLen {
		return nil, &VersionError{Input: s[:32] + "…", Hint: fmt.Sprintf("longer than %d characters", maxVersionLen)}
	}
	if s == "" {
		return nil, &VersionError{Input: s, Hint: "empty"}
	}
	if strings.HasPrefix(s, "v") || strings.HasPrefix(s, "V") {
		if _, err := semver.StrictNewVersion(s[1:]); err == nil {
			return nil, &VersionError{Input: s, Hint: fmt.Sprintf("drop the 'v': the version is %s, the tag prefix is added for you", s[1:])}
		}
	}
	if strings.HasPrefix(s, "-") {
		return nil, &VersionError{Input: s, Hint: "looks like an option"}
	}
	if why := overLimit(s); why != "" {
		return nil, &VersionError{Input: s, Hint: why}
	}
	v, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil, &VersionError{Input: s}
	}
	return v, nil
}

// ParseTagVersion parses tag as prefix + strict SemVer within
// MaxVersionNumber; ok is false for any tag that is not a release tag. A
// tag over the limit is not one: it is skipped, never bumped or deployed.
func ParseTagVersion(prefix, tag string) (*semver.Version, bool) {
	if !strings.HasPrefix(tag, prefix) || overLimit(tag[len(prefix):]) != "" {
		return nil, false
	}
	v, err := semver.StrictNewVersion(tag[len(prefix):])
	if err != nil {
		return nil, false
	}
	return v, true
}

// highest returns the greatest version among tags (by SemVer precedence,
// semver.org §11), or nil when none is a release tag.
func highest(prefix string, tags []string) *semver.Version {
	var best *semver.Version
	for _, t := range tags {
		if v, ok := ParseTagVersion(prefix, t); ok && (best == nil || v.GreaterThan(best)) {
			best = v
		}
	}
	return best
}

// overLimitTags lists the tags that would be release tags but for a number
// over MaxVersionNumber, so that status can say they were skipped.
func overLimitTags(prefix string, tags []string) []string {
	var out []string
	for _, t := range tags {
		if rest, ok := strings.CutPrefix(t, prefix); ok && overLimit(rest) != "" {
			out = append(out, t)
		}
	}
	return out
}
