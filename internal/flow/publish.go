package flow

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// ReleasePublish pushes the release branch to the remote, for teams whose
// main is protected: the merge happens in a pull request, then ReleaseTag
// finishes the release on the merged main.
func (f *Flow) ReleasePublish(ctx context.Context, version string) error {
	k := f.releaseKind()
	name, err := f.currentOrNamed(ctx, k.name, k.prefix, version)
	if err != nil {
		return err
	}
	if _, err := ParseVersion(name); err != nil {
		return err
	}
	branch := k.prefix + name
	if err := f.requireNoFinishInProgress(ctx); err != nil {
		return err
	}
	if err := f.requireClean(ctx); err != nil {
		return err
	}
	ok, err := f.repo.BranchExists(ctx, branch)
	if err != nil {
		return err
	}
	if !ok {
		return badInput("", "branch %s does not exist", branch)
	}
	if ok, err := f.repo.RemoteExists(ctx, f.opts.Remote); err != nil {
		return err
	} else if !ok {
		return refuse("add it with `git remote add "+f.opts.Remote+" URL`", "remote %q does not exist", f.opts.Remote)
	}
	if err := f.repo.PushUpstream(ctx, f.opts.Remote, branch); err != nil {
		return fmt.Errorf("publish %s: %w", branch, err)
	}
	f.printf("Pushed %s to %s.\nOpen a pull request %s → %s titled \"Release %s%s\"; once it is merged, run:\n    canaryflow flow release tag %s\n",
		branch, f.opts.Remote, branch, f.opts.MainBranch, f.opts.TagPrefix, name, name)
	return nil
}

// ReleaseTag finishes a release whose merge into main happened on the
// hosting side: it brings main up to date, checks its version files, tags
// it, pushes the tag, merges main back into develop, pushes develop and
// deletes the release branch.
func (f *Flow) ReleaseTag(ctx context.Context, o FinishOptions) error {
	if o.Version != "" {
		if _, err := ParseVersion(o.Version); err != nil {
			return err
		}
	}
	k := f.releaseKind()
	name, err := f.currentOrNamed(ctx, k.name, k.prefix, o.Version)
	if err != nil {
		return err
	}
	v, err := ParseVersion(name)
	if err != nil {
		return err
	}
	if err := f.requireNoFinishInProgress(ctx); err != nil {
		return err
	}
	if err := f.requireClean(ctx); err != nil {
		return err
	}
	for _, b := range []string{f.opts.MainBranch, f.opts.DevelopBranch} {
		if err := f.requireBranch(ctx, b); err != nil {
			return err
		}
	}
	if ok, err := f.repo.RemoteExists(ctx, f.opts.Remote); err != nil {
		return err
	} else if !ok {
		return refuse("add it with `git remote add "+f.opts.Remote+" URL`", "remote %q does not exist", f.opts.Remote)
	}
	tag := f.opts.TagPrefix + v.String()
	if exists, err := f.repo.TagExists(ctx, tag); err != nil {
		return err
	} else if exists {
		return badInput("", "tag %s already exists", tag)
	}
	if err := f.checkNewVersion(ctx, v); err != nil {
		return err
	}
	msg := o.Message
	if msg == "" {
		msg = "Release " + v.String()
	}
	return f.begin(ctx, &finishState{
		Op: "release tag", Kind: "release", Version: v.String(), Branch: k.prefix + v.String(),
		Tag: tag, Message: msg, Push: true, Keep: o.Keep,
	})
}

// syncMain is the first step of a release tag: fast-forward main to the
// remote's main, then check that the merged main carries the version.
func (f *Flow) syncMain(ctx context.Context, st *finishState) error {
	if err := f.repo.Fetch(ctx, st.Remote); err != nil {
		return err
	}
	if err := f.repo.Switch(ctx, st.Main); err != nil {
		return err
	}
	remoteMain := "refs/remotes/" + st.Remote + "/" + st.Main
	if _, ok, err := f.repo.RevParse(ctx, remoteMain); err != nil {
		return err
	} else if ok {
		if _, err := f.repo.Run(ctx, "merge", "--ff-only", "--quiet", remoteMain); err != nil {
			return fmt.Errorf("%s has commits that %s/%s lacks; it cannot be fast-forwarded: %w", st.Main, st.Remote, st.Main, err)
		}
	}
	for _, p := range f.versionFiles() {
		got, err := readVersionFile(filepath.Join(f.repo.Dir, p))
		if err != nil {
			return fmt.Errorf("version file %s: %w", p, err)
		}
		if got != st.Version {
			return fmt.Errorf("%s on %s says %s, not %s: has the pull request of %s been merged? (version files: %s)",
				p, st.Main, got, st.Version, st.Branch, strings.Join(f.versionFiles(), ", "))
		}
	}
	st.Done = append(st.Done, fmt.Sprintf("%s updated from %s/%s", st.Main, st.Remote, st.Main))
	return nil
}
