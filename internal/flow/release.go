package flow

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// StartOptions choose the version of a new release or hotfix.
type StartOptions struct {
	// Version is the exact version; empty means compute it from Bump.
	Version string
	// Bump is major, minor, patch or auto (Conventional Commits since the
	// latest tag). Empty means auto for releases and patch for hotfixes.
	Bump string
	// Force allows a version lower than the one the version files hold
	// (almost always a typo, so refused without it).
	Force bool
}

// FinishOptions tune a release or hotfix finish.
type FinishOptions struct {
	Version string // empty: the checked-out or only branch of the kind
	Push    bool   // push main, develop and the tag; delete the remote branch
	Message string // tag message; empty means "Release X.Y.Z"
	Keep    bool   // keep the branch after finishing
}

// kind is a branch family with a version in its name.
type kind struct {
	name   string // "release" or "hotfix"
	prefix string
	base   string // the branch it starts from
}

func (f *Flow) releaseKind() kind {
	return kind{name: "release", prefix: f.opts.ReleasePrefix, base: f.opts.DevelopBranch}
}

func (f *Flow) hotfixKind() kind {
	return kind{name: "hotfix", prefix: f.opts.HotfixPrefix, base: f.opts.MainBranch}
}

// ReleaseStart creates release/X.Y.Z from develop and commits the version.
func (f *Flow) ReleaseStart(ctx context.Context, o StartOptions) error {
	return f.start(ctx, f.releaseKind(), o, "auto")
}

// HotfixStart creates hotfix/X.Y.Z from main and commits the version; the
// default version is the next patch of the latest tag.
func (f *Flow) HotfixStart(ctx context.Context, o StartOptions) error {
	return f.start(ctx, f.hotfixKind(), o, "patch")
}

// ReleaseFinish merges the release into main, tags it, merges main back
// into develop and deletes the branch.
func (f *Flow) ReleaseFinish(ctx context.Context, o FinishOptions) error {
	return f.finish(ctx, f.releaseKind(), o)
}

// HotfixFinish does for a hotfix what ReleaseFinish does for a release.
func (f *Flow) HotfixFinish(ctx context.Context, o FinishOptions) error {
	return f.finish(ctx, f.hotfixKind(), o)
}

// CheckVersionArg applies the SemVer gate to an optional version argument.
// The CLI calls it before opening the repository, so bad input never
// reaches git.
func CheckVersionArg(s string) error {
	if s == "" {
		return nil
	}
	_, err := ParseVersion(s)
	return err
}

func (f *Flow) start(ctx context.Context, k kind, o StartOptions, defBump string) error {
	if o.Version != "" && o.Bump != "" {
		return badInput("", "give a version or --bump, not both")
	}
	var v *semver.Version
	if o.Version != "" {
		var err error
		if v, err = ParseVersion(o.Version); err != nil {
			return err
		}
		if v.Metadata() != "" {
			return badInput(fmt.Sprintf("start it as %s; build metadata belongs in the build, not in the release's name", strings.SplitN(o.Version, "+", 2)[0]),
				"version %s has build metadata (+%s): SemVer ignores it when versions are compared, so it would name the same release as %s and make a branch %s%s",
				o.Version, v.Metadata(), strings.SplitN(o.Version, "+", 2)[0], k.prefix, o.Version)
		}
	}
	if v == nil {
		bump := o.Bump
		if bump == "" {
			bump = defBump
		}
		if bump != "auto" {
			if _, err := ParseBump(bump); err != nil {
				return badInput("", "%v", err)
			}
		}
		nv, err := f.nextVersion(ctx, bump, k.base)
		if err != nil {
			return err
		}
		v = nv
		f.printf("Next version (%s): %s\n", bump, v)
	}
	branch := k.prefix + v.String()
	if err := f.startChecks(ctx, k.base, branch); err != nil {
		return err
	}
	open, err := f.repo.Branches(ctx, k.prefix)
	if err != nil {
		return err
	}
	if len(open) > 0 {
		return refuse(fmt.Sprintf("finish it first: canaryflow flow %s finish", k.name),
			"a %s is already open: %s", k.name, strings.Join(open, ", "))
	}
	if err := f.checkNewVersion(ctx, v); err != nil {
		return err
	}
	if !o.Force {
		if err := f.checkNotLowerThanFiles(ctx, v, k); err != nil {
			return err
		}
	}
	var notes *Notes
	if f.opts.Changelog != "" {
		latest, err := f.latestTag(ctx)
		if err != nil {
			return err
		}
		n, err := f.notesSince(ctx, v.String(), latest, "refs/heads/"+k.base)
		if err != nil {
			return err
		}
		notes = &n
	}
	prev, err := f.repo.CurrentBranch(ctx)
	if err != nil {
		prev = ""
	}
	if err := f.createAndSwitch(ctx, branch, k.base); err != nil {
		return err
	}
	written, err := f.writeVersion(ctx, v.String(), notes)
	if err != nil {
		// Put things back: nothing of this start may remain.
		if prev != "" {
			_ = f.repo.Switch(ctx, prev)
		}
		_, _ = f.repo.Run(ctx, "checkout", "--quiet", "--", ".")
		_ = f.repo.DeleteBranch(ctx, branch, true)
		return err
	}
	f.printf("Switched to a new branch %s (from %s).\n", branch, k.base)
	if notes != nil {
		f.printf("Added the release notes of %s to %s.\n", v, f.opts.Changelog)
	}
	if len(written) == 0 {
		f.printf("No version file found (looked for %s): the tag alone will carry %s.\n", strings.Join(f.opts.VersionFiles, ", "), v)
	} else {
		f.printf("Set version %s in %s and committed \"Bump version to %s\".\n", v, strings.Join(written, ", "), v)
	}
	f.printf("When the %s is ready, run:\n    canaryflow flow %s finish %s --push\n", k.name, k.name, v)
	return nil
}

// checkNotLowerThanFiles refuses a version lower than one a version file
// already holds on the branch the new one starts from (develop for a
// release, main for a hotfix): with no tags yet, 0.0.0 would pass every
// other check and quietly rewrite VERSION from 0.1.0 down to 0.0.0.
func (f *Flow) checkNotLowerThanFiles(ctx context.Context, v *semver.Version, k kind) error {
	for _, p := range f.opts.VersionFiles {
		data, ok, err := f.repo.ShowFile(ctx, "refs/heads/"+k.base, p)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		old, err := parseVersionFile(p, data)
		if err != nil || old == "" {
			continue // a broken file is reported when it is written
		}
		ov, err := semver.StrictNewVersion(old)
		if err != nil || !v.LessThan(ov) {
			continue
		}
		return badInput(fmt.Sprintf("if %s is what you mean, run again with --force: canaryflow flow %s start %s --force", v, k.name, v),
			"version %s is lower than %s in %s", v, old, p)
	}
	return nil
}

// writeVersion writes v into every version file present, adds notes (when
// not nil) to the changelog, and commits them.
func (f *Flow) writeVersion(ctx context.Context, v string, notes *Notes) ([]string, error) {
	files := f.versionFiles()
	var changed []string
	for _, p := range files {
		path := filepath.Join(f.repo.Dir, p)
		old, err := readVersionFile(path)
		if err != nil {
			return nil, badInput("fix the file, commit it, and start again", "version file %s: %v", p, err)
		}
		if old == v {
			continue
		}
		if err := writeVersionFile(path, v); err != nil {
			return nil, fmt.Errorf("write version file %s: %w", p, err)
		}
		changed = append(changed, p)
	}
	if notes != nil {
		if err := f.writeChangelog(*notes); err != nil {
			return nil, err
		}
		changed = append(changed, f.opts.Changelog)
	}
	if len(changed) > 0 {
		if err := f.repo.Commit(ctx, "Bump version to "+v, changed...); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func (f *Flow) finish(ctx context.Context, k kind, o FinishOptions) error {
	if o.Version != "" {
		if _, err := ParseVersion(o.Version); err != nil {
			return err
		}
	}
	name, err := f.currentOrNamed(ctx, k.name, k.prefix, o.Version)
	if err != nil {
		return err
	}
	v, err := ParseVersion(name)
	if err != nil {
		return badInput(fmt.Sprintf("a %s branch must be named %sX.Y.Z", k.name, k.prefix), "branch %s%s: %v", k.prefix, name, err)
	}
	branch := k.prefix + v.String()
	if err := f.finishChecks(ctx, branch); err != nil {
		return err
	}
	tag := f.opts.TagPrefix + v.String()
	exists, err := f.repo.TagExists(ctx, tag)
	if err != nil {
		return err
	}
	if exists {
		return badInput("if the release was tagged by hand, delete the branch instead", "tag %s already exists", tag)
	}
	if err := f.checkNewVersion(ctx, v); err != nil {
		return err
	}
	if o.Push {
		if err := f.requireUpToDate(ctx); err != nil {
			return err
		}
	}
	msg := o.Message
	if msg == "" {
		msg = fmt.Sprintf("%s %s", strings.ToUpper(k.name[:1])+k.name[1:], v)
	}
	return f.begin(ctx, &finishState{
		Op: k.name + " finish", Kind: k.name, Version: v.String(), Branch: branch,
		Tag: tag, Message: msg, Push: o.Push, Keep: o.Keep, Changelog: f.opts.Changelog,
	})
}

// requireUpToDate fetches the remote and refuses when main or develop is
// behind it, so a push cannot be rejected halfway.
func (f *Flow) requireUpToDate(ctx context.Context) error {
	ok, err := f.repo.RemoteExists(ctx, f.opts.Remote)
	if err != nil {
		return err
	}
	if !ok {
		return refuse("add it with `git remote add "+f.opts.Remote+" URL`, or finish without --push",
			"remote %q does not exist", f.opts.Remote)
	}
	if err := f.repo.Fetch(ctx, f.opts.Remote); err != nil {
		return fmt.Errorf("fetch %s: %w", f.opts.Remote, err)
	}
	for _, b := range []string{f.opts.MainBranch, f.opts.DevelopBranch} {
		remoteRef := "refs/remotes/" + f.opts.Remote + "/" + b
		_, exists, err := f.repo.RevParse(ctx, remoteRef)
		if err != nil {
			return err
		}
		if !exists {
			continue
		}
		ok, err := f.repo.IsAncestor(ctx, remoteRef, "refs/heads/"+b)
		if err != nil {
			return err
		}
		if !ok {
			return refuse(fmt.Sprintf("update it first: git switch %s && git pull %s %s", b, f.opts.Remote, b),
				"%s is behind %s/%s", b, f.opts.Remote, b)
		}
	}
	return nil
}

// nextVersion computes the next version from the latest tag on main.
func (f *Flow) nextVersion(ctx context.Context, bump, head string) (*semver.Version, error) {
	latest, err := f.latestTag(ctx)
	if err != nil {
		return nil, err
	}
	var b Bump
	if bump == "auto" {
		b, err = f.commitsBump(ctx, latest, "refs/heads/"+head)
		if err != nil {
			return nil, err
		}
		if b == BumpNone {
			return nil, refuse("commit something first, or give the version", "no commits on %s since %s%s: nothing to release", head, f.opts.TagPrefix, latest)
		}
	} else if b, err = ParseBump(bump); err != nil {
		return nil, badInput("", "%v", err)
	}
	base := semver.New(0, 0, 0, "", "")
	if latest != nil {
		base = latest
	}
	nv, err := b.Apply(base)
	if err != nil {
		return nil, err
	}
	return &nv, nil
}
