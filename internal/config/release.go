package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/canaryflow/canaryflow/internal/flow"
)

// Release is the `release` section: the names a Gitflow team agrees on.
// Every field's zero value means "the guide's default".
type Release struct {
	// MainBranch holds released code; tags are made on it. Zero means "main".
	MainBranch string `yaml:"main_branch"`
	// DevelopBranch collects finished features. Zero means "develop".
	DevelopBranch string `yaml:"develop_branch"`
	// FeaturePrefix names feature branches. Zero means "feature/".
	FeaturePrefix string `yaml:"feature_prefix"`
	// ReleasePrefix names release branches. Zero means "release/".
	ReleasePrefix string `yaml:"release_prefix"`
	// HotfixPrefix names hotfix branches. Zero means "hotfix/".
	HotfixPrefix string `yaml:"hotfix_prefix"`
	// TagPrefix is put before the version in tags. Zero means "v"; set
	// NoTagPrefix to tag bare versions.
	TagPrefix string `yaml:"tag_prefix"`
	// NoTagPrefix tags releases as X.Y.Z instead of vX.Y.Z.
	NoTagPrefix bool `yaml:"no_tag_prefix"`
	// VersionFiles are rewritten by release and hotfix start and checked by
	// `version check`. A *.json file has its top-level "version" field set;
	// any other file holds the version alone. Files that do not exist are
	// skipped. Zero means [package.json, VERSION].
	VersionFiles []string `yaml:"version_files"`
	// Remote is the remote pushed to. Zero means "origin".
	Remote string `yaml:"remote"`
	// Changelog is the file release and hotfix start add the version's
	// notes to, from the Conventional Commits since the latest tag (Keep a
	// Changelog layout). Absent means "CHANGELOG.md"; "" turns it off.
	Changelog *string `yaml:"changelog"`
	// Protect is what `canaryflow protect` requires on GitHub beyond the
	// guide's fixed rules.
	Protect Protect `yaml:"protect"`
}

// Protect is the `release.protect` section: the choices the guide leaves
// to a team (§4.1.1). Zero values mean the guide's recommendation.
type Protect struct {
	// StatusChecks are the CI check names a pull request into main or
	// develop must pass (e.g. "ci/build"). Zero means none required.
	StatusChecks []string `yaml:"status_checks"`
	// Approvals is how many reviews a pull request needs. Zero means 1.
	Approvals int `yaml:"approvals"`
	// SignedCommits requires signed commits on main (the guide: optional).
	SignedCommits bool `yaml:"signed_commits"`
	// TagCreators are who may create release tags on GitHub: "admin" (the
	// repository admins, who run the release) or "anyone" with write
	// access. Zero means "admin".
	TagCreators string `yaml:"tag_creators"`
}

// DefaultChangelog is the changelog written when none is configured.
const DefaultChangelog = "CHANGELOG.md"

// DefaultVersionFiles are the version files used when none are configured.
var defaultVersionFiles = []string{"package.json", "VERSION"}

func (r *Release) applyDefaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&r.MainBranch, "main")
	def(&r.DevelopBranch, "develop")
	def(&r.FeaturePrefix, "feature/")
	def(&r.ReleasePrefix, "release/")
	def(&r.HotfixPrefix, "hotfix/")
	def(&r.Remote, "origin")
	if r.NoTagPrefix {
		r.TagPrefix = ""
	} else {
		def(&r.TagPrefix, "v")
	}
	if len(r.VersionFiles) == 0 {
		r.VersionFiles = append([]string(nil), defaultVersionFiles...)
	}
	if r.Changelog == nil {
		c := DefaultChangelog
		r.Changelog = &c
	}
	if r.Protect.Approvals == 0 {
		r.Protect.Approvals = 1
	}
	def(&r.Protect.TagCreators, "admin")
}

// safeName is what canaryflow accepts in branch names and prefixes: git's
// ref rules, narrowed so no name can look like an option or reach a shell.
var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)

// ValidRefPart reports why s cannot be (part of) a branch name, or "" if it can.
func ValidRefPart(s string) string {
	switch {
	case s == "":
		return "is empty"
	case !safeName.MatchString(s):
		return "may use only letters, digits, '.', '_', '-' and '/', and must start with a letter or digit"
	case strings.Contains(s, ".."), strings.Contains(s, "//"), strings.Contains(s, "/."):
		return "may not contain '..', '//' or '/.'"
	case strings.HasSuffix(s, ".lock"), strings.HasSuffix(s, "."):
		return "may not end with '.lock' or '.'"
	}
	return ""
}

func (r *Release) validate(path string, data []byte) []error {
	var errs []error
	check := func(field, v string, prefix bool) {
		name := v
		if prefix {
			if !strings.HasSuffix(v, "/") && !strings.HasSuffix(v, "-") {
				errs = append(errs, fieldError(path, data, "release."+field,
					"%q must end with '/' or '-' so branch names stay readable (e.g. %q)", v, v+"/"))
				return
			}
			name = strings.TrimRight(v, "/-") + "/x"
		}
		if why := ValidRefPart(name); why != "" {
			errs = append(errs, fieldError(path, data, "release."+field, "%q %s", v, why))
		}
	}
	check("main_branch", r.MainBranch, false)
	check("develop_branch", r.DevelopBranch, false)
	check("feature_prefix", r.FeaturePrefix, true)
	check("release_prefix", r.ReleasePrefix, true)
	check("hotfix_prefix", r.HotfixPrefix, true)
	check("remote", r.Remote, false)
	if r.MainBranch == r.DevelopBranch {
		errs = append(errs, fieldError(path, data, "release.develop_branch",
			"must differ from main_branch (both are %q)", r.MainBranch))
	}
	prefixes := map[string]string{"feature_prefix": r.FeaturePrefix, "release_prefix": r.ReleasePrefix, "hotfix_prefix": r.HotfixPrefix}
	seen := map[string]string{}
	for _, f := range []string{"feature_prefix", "release_prefix", "hotfix_prefix"} {
		if other, dup := seen[prefixes[f]]; dup {
			errs = append(errs, fieldError(path, data, "release."+f, "same as %s (%q): branch types must be told apart", other, prefixes[f]))
		}
		seen[prefixes[f]] = f
	}
	if r.TagPrefix != "" && !regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._/-]*$`).MatchString(r.TagPrefix) {
		errs = append(errs, fieldError(path, data, "release.tag_prefix",
			"%q must start with a letter and use only letters, digits, '.', '_', '-', '/'", r.TagPrefix))
	}
	for i, f := range r.VersionFiles {
		if err := repoPath(path, data, fmt.Sprintf("release.version_files[%d]", i), f); err != nil {
			errs = append(errs, err)
		}
	}
	if r.Changelog != nil && *r.Changelog != "" {
		if err := repoPath(path, data, "release.changelog", *r.Changelog); err != nil {
			errs = append(errs, err)
		}
	}
	if r.Protect.Approvals < 0 || r.Protect.Approvals > 10 {
		errs = append(errs, fieldError(path, data, "release.protect.approvals", "%d: want 1 to 10 (the guide asks for 1)", r.Protect.Approvals))
	}
	if r.Protect.TagCreators != "admin" && r.Protect.TagCreators != "anyone" {
		errs = append(errs, fieldError(path, data, "release.protect.tag_creators", "%q: want admin or anyone", r.Protect.TagCreators))
	}
	for i, c := range r.Protect.StatusChecks {
		if strings.TrimSpace(c) == "" || len(c) > 255 || strings.ContainsAny(c, "\n\r") {
			errs = append(errs, fieldError(path, data, fmt.Sprintf("release.protect.status_checks[%d]", i), "%q must be a check name on one line, 1 to 255 characters", c))
		}
	}
	return errs
}

// repoPath refuses a configured file path that could leave the repository.
func repoPath(path string, data []byte, field, f string) error {
	switch {
	case f == "" || filepath.IsAbs(f) || strings.HasPrefix(f, "-"):
		return fieldError(path, data, field, "%q must be a relative path inside the repository", f)
	case filepath.Clean(f) != f && filepath.Clean(f) != strings.TrimPrefix(f, "./"),
		strings.HasPrefix(filepath.Clean(f), ".."):
		return fieldError(path, data, field, "%q must be a clean relative path inside the repository", f)
	}
	return nil
}

// VersionTag returns the tag for version v, e.g. "v1.2.3".
func (r *Release) VersionTag(v string) string { return r.TagPrefix + v }

// FlowOptions turns the release section into the options of a Flow. The
// flow commands, the demo and the pipeline's Build stage all use it, so the
// mapping is written once, here, where the settings are read (flow takes
// plain options and does not read canaryflow.yaml).
func (r Release) FlowOptions() flow.Options {
	return flow.Options{
		MainBranch: r.MainBranch, DevelopBranch: r.DevelopBranch,
		FeaturePrefix: r.FeaturePrefix, ReleasePrefix: r.ReleasePrefix, HotfixPrefix: r.HotfixPrefix,
		TagPrefix: r.TagPrefix, Remote: r.Remote, VersionFiles: r.VersionFiles,
		Changelog: r.ChangelogPath(),
	}
}

// ChangelogPath is the changelog file, or "" when it is turned off.
func (r Release) ChangelogPath() string {
	if r.Changelog == nil {
		return DefaultChangelog
	}
	return *r.Changelog
}
