package flow

import (
	"errors"
	"fmt"
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
	v, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil, &VersionError{Input: s}
	}
	return v, nil
}

// versionFromTag parses tag as prefix + strict SemVer; ok is false for any
// tag that is not a release tag.
func versionFromTag(prefix, tag string) (*semver.Version, bool) {
	if !strings.HasPrefix(tag, prefix) {
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
		if v, ok := versionFromTag(prefix, t); ok && (best == nil || v.GreaterThan(best)) {
			best = v
		}
	}
	return best
}
