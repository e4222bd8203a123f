// Package flow makes Gitflow with Semantic Versioning one command per step:
// feature, release and hotfix branches, version files, annotated tags on
// main and the merge back into develop.
//
// Every version is checked by the strict SemVer gate before git runs, every
// precondition (clean tree, tag not taken, version greater than the latest)
// is checked before anything changes, and a finish that stops on a merge
// conflict can be continued or undone, because its steps are written under
// .git/ before they are taken.
package flow

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/canaryflow/canaryflow/internal/git"
)

// Options configure a Flow. They mirror the release section of
// canaryflow.yaml; every field must be set (config applies the defaults).
type Options struct {
	MainBranch    string
	DevelopBranch string
	FeaturePrefix string
	ReleasePrefix string
	HotfixPrefix  string
	TagPrefix     string
	Remote        string
	VersionFiles  []string
	// Changelog is the file release and hotfix start add the version's
	// notes to (Keep a Changelog layout); empty turns this off.
	Changelog string
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	for name, v := range map[string]string{
		"main branch": o.MainBranch, "develop branch": o.DevelopBranch,
		"feature prefix": o.FeaturePrefix, "release prefix": o.ReleasePrefix,
		"hotfix prefix": o.HotfixPrefix, "remote": o.Remote,
	} {
		if v == "" {
			return fmt.Errorf("flow options: %s is empty", name)
		}
	}
	return nil
}

// Flow runs Gitflow operations on one repository.
type Flow struct {
	repo *git.Repo
	opts Options
	// out receives progress and summaries meant for a person.
	out io.Writer
	// host opens pull requests and publishes releases; nil: none.
	host Host
}

// New returns a Flow over repo. out may be nil to discard progress.
func New(repo *git.Repo, opts Options, out io.Writer) (*Flow, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if out == nil {
		out = io.Discard
	}
	return &Flow{repo: repo, opts: opts, out: out}, nil
}

func (f *Flow) printf(format string, a ...any) { fmt.Fprintf(f.out, format, a...) }

// Error is a refused operation: what happened and what to do next.
type Error struct {
	Msg  string
	Hint string
	// Code is the process exit code the CLI should use; 0 means 1.
	Code int
}

func (e *Error) Error() string {
	if e.Hint == "" {
		return e.Msg
	}
	return e.Msg + "\n  " + strings.ReplaceAll(e.Hint, "\n", "\n  ")
}

// ExitCode tells the CLI which exit code this refusal maps to.
func (e *Error) ExitCode() int {
	if e.Code == 0 {
		return 1
	}
	return e.Code
}

func refuse(hint, format string, a ...any) error {
	return &Error{Msg: fmt.Sprintf(format, a...), Hint: hint}
}

func badInput(hint, format string, a ...any) error {
	return &Error{Msg: fmt.Sprintf(format, a...), Hint: hint, Code: 2}
}

// ValidateName checks a feature (or other branch) name given by a user. It
// runs before any git command.
func ValidateName(kind, name string) error {
	if len(name) > 200 {
		return badInput("", "%s name is longer than 200 characters", kind)
	}
	if why := validRefPart(name); why != "" {
		return badInput("use something like add-login or JIRA-123-add-login", "%s name %q %s", kind, name, why)
	}
	return nil
}

// validRefPart reports why s cannot be (part of) a branch name.
func validRefPart(s string) string {
	if s == "" {
		return "is empty"
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			(i > 0 && (r == '.' || r == '_' || r == '-' || r == '/'))
		if !ok {
			return "may use only letters, digits, '.', '_', '-' and '/', and must start with a letter or digit"
		}
	}
	if strings.Contains(s, "..") || strings.Contains(s, "//") || strings.Contains(s, "/.") ||
		strings.HasSuffix(s, ".lock") || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "/") {
		return "is not a valid git branch name (no '..', '//', '/.', trailing '/', '.' or '.lock')"
	}
	return ""
}

// requireClean refuses to go on when tracked files have uncommitted changes.
func (f *Flow) requireClean(ctx context.Context) error {
	files, err := f.repo.DirtyFiles(ctx)
	if err != nil {
		return err
	}
	if len(files) > 0 {
		shown := files
		if len(shown) > 5 {
			shown = append(shown[:5:5], fmt.Sprintf("… and %d more", len(files)-5))
		}
		return refuse("commit or stash them first (git stash), then run the command again",
			"the working tree has uncommitted changes: %s", strings.Join(shown, ", "))
	}
	return nil
}

// requireNoFinishInProgress refuses new work while a finish is half done.
func (f *Flow) requireNoFinishInProgress(ctx context.Context) error {
	st, err := f.loadState(ctx)
	if err != nil {
		return err
	}
	if st != nil {
		return refuse(fmt.Sprintf("run `canaryflow flow %s --continue` to complete it, or `--abort` to undo it", st.Op),
			"a %s for %s is in progress (stopped at: %s)", st.Op, st.Version, st.stepName())
	}
	return nil
}

// requireBranch refuses when a configured branch is missing.
func (f *Flow) requireBranch(ctx context.Context, branch string) error {
	ok, err := f.repo.BranchExists(ctx, branch)
	if err != nil {
		return err
	}
	if !ok {
		return refuse(f.missingBranchHint(ctx, branch), "branch %s does not exist", branch)
	}
	return nil
}

// missingBranchHint says how to get a configured branch that is missing.
// flow init creates develop, but never main in a repository that has
// commits on another branch (master, trunk): there, the way out is the
// configuration, or renaming that branch.
func (f *Flow) missingBranchHint(ctx context.Context, branch string) string {
	if branch == f.opts.MainBranch {
		branches, _ := f.repo.Branches(ctx, "")
		var others []string
		for _, b := range branches {
			if b != f.opts.DevelopBranch {
				others = append(others, b)
			}
		}
		if len(others) > 0 {
			return fmt.Sprintf("this repository's branches are %s: set release.main_branch in canaryflow.yaml to the production one\n"+
				"(e.g. main_branch: %s), or rename it: git branch -m %s %s; then run `canaryflow flow init`",
				strings.Join(others, ", "), others[0], others[0], branch)
		}
	}
	return "run `canaryflow flow init` to create " + f.opts.MainBranch + " and " + f.opts.DevelopBranch
}

// latestTag is the highest release tag reachable from main, or nil.
func (f *Flow) latestTag(ctx context.Context) (*semver.Version, error) {
	ok, err := f.repo.BranchExists(ctx, f.opts.MainBranch)
	if err != nil || !ok {
		return nil, err
	}
	tags, err := f.repo.TagsMerged(ctx, "refs/heads/"+f.opts.MainBranch)
	if err != nil {
		return nil, err
	}
	return highest(f.opts.TagPrefix, tags), nil
}

// highestTag is the highest release tag anywhere in the repository.
func (f *Flow) highestTag(ctx context.Context) (*semver.Version, error) {
	tags, err := f.repo.Tags(ctx)
	if err != nil {
		return nil, err
	}
	return highest(f.opts.TagPrefix, tags), nil
}

// checkNewVersion enforces that v is a new release: its tag does not exist
// and it is greater than every release tag.
func (f *Flow) checkNewVersion(ctx context.Context, v *semver.Version) error {
	tag := f.opts.TagPrefix + v.String()
	exists, err := f.repo.TagExists(ctx, tag)
	if err != nil {
		return err
	}
	if exists {
		return badInput("pick the next version: `canaryflow version next`", "tag %s already exists", tag)
	}
	top, err := f.highestTag(ctx)
	if err != nil {
		return err
	}
	if top != nil && !v.GreaterThan(top) {
		hint := fmt.Sprintf("a new release must be greater than the latest tag %s%s", f.opts.TagPrefix, top)
		if next, err := BumpPatch.Apply(top); err == nil {
			hint += "; next patch is " + next.String()
		}
		return badInput(hint, "version %s is not greater than %s", v, top)
	}
	return nil
}

// versionFiles lists the configured version files present in the work tree.
func (f *Flow) versionFiles() []string {
	var present []string
	for _, p := range f.opts.VersionFiles {
		if _, err := os.Stat(filepath.Join(f.repo.Dir, p)); err == nil {
			present = append(present, p)
		}
	}
	return present
}
