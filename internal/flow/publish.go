package flow

import (
	"context"
	"fmt"
	"strings"
)

// ReleasePublish pushes the release branch to the remote, for teams whose
// main is protected: the merge happens in a pull request (opened here with
// o.PR), then ReleaseTag finishes the release on the merged main.
func (f *Flow) ReleasePublish(ctx context.Context, o PublishOptions) error {
	return f.publish(ctx, f.releaseKind(), o)
}

func (f *Flow) publish(ctx context.Context, k kind, o PublishOptions) error {
	name, err := f.currentOrNamed(ctx, k.name, k.prefix, o.Version)
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
	if o.PR && f.host == nil {
		return refuse("drop --pr and open the pull request on your host", "--pr: remote %s is not on GitHub", f.opts.Remote)
	}
	if f.opts.Changelog != "" {
		prev, _ := f.repo.CurrentBranch(ctx)
		changed, err := f.refreshChangelog(ctx, f.opts.Changelog, branch, name)
		if err != nil {
			return err
		}
		if changed {
			f.printf("Updated the release notes of %s in %s on %s.\n", name, f.opts.Changelog, branch)
		}
		if prev != "" && prev != branch {
			if err := f.repo.Switch(ctx, prev); err != nil {
				return err
			}
		}
	}
	if err := f.repo.PushUpstream(ctx, f.opts.Remote, branch); err != nil {
		return fmt.Errorf("publish %s: %w", branch, err)
	}
	f.printf("Pushed %s to %s.\n", branch, f.opts.Remote)
	if o.PR {
		if err := f.switchTo(ctx, branch); err != nil {
			return err
		}
		if err := f.openReleasePR(ctx, branch, name); err != nil {
			return err
		}
	} else {
		f.printf("Open a pull request %s → %s titled \"Release %s%s\" (or run this again with --pr).\n", branch, f.opts.MainBranch, f.opts.TagPrefix, name)
	}
	f.printf("Once it is merged, run:\n    canaryflow flow %s tag %s\n", k.name, name)
	return nil
}

// switchTo checks out branch unless it is already checked out.
func (f *Flow) switchTo(ctx context.Context, branch string) error {
	if cur, err := f.repo.CurrentBranch(ctx); err == nil && cur == branch {
		return nil
	}
	return f.repo.Switch(ctx, branch)
}

// ReleaseTag finishes a release whose merge into main happened on the
// hosting side: it brings main up to date, checks its version files, tags
// it, pushes the tag, merges main back into develop, pushes develop and
// deletes the release branch.
//
// With a Host it also publishes the release there with its notes, and when
// develop is protected it opens the pull request main → develop instead of
// merging and pushing develop itself.
func (f *Flow) ReleaseTag(ctx context.Context, o FinishOptions) error {
	return f.tagMerged(ctx, f.releaseKind(), o)
}

// HotfixTag does for a hotfix merged by pull request what ReleaseTag does
// for a release.
func (f *Flow) HotfixTag(ctx context.Context, o FinishOptions) error {
	return f.tagMerged(ctx, f.hotfixKind(), o)
}

func (f *Flow) tagMerged(ctx context.Context, k kind, o FinishOptions) error {
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
	if err := f.repo.Fetch(ctx, f.opts.Remote); err != nil {
		return fmt.Errorf("fetch %s: %w", f.opts.Remote, err)
	}
	if err := f.requireReleaseMerged(ctx, k.prefix+v.String(), v.String()); err != nil {
		return err
	}
	msg := o.Message
	if msg == "" {
		msg = titleWord(k.name) + " " + v.String()
	}
	st := &finishState{
		Op: k.name + " tag", Kind: k.name, Version: v.String(), Branch: k.prefix + v.String(),
		Tag: tag, Message: msg, Push: true, Keep: o.Keep, Host: f.host != nil,
	}
	if f.host != nil {
		protected, err := f.host.Protected(ctx, f.opts.DevelopBranch)
		if err != nil {
			return fmt.Errorf("is %s protected: %w", f.opts.DevelopBranch, err)
		}
		st.DevelopPR = protected
	}
	return f.begin(ctx, st)
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
	st.Done = append(st.Done, fmt.Sprintf("%s updated from %s/%s", st.Main, st.Remote, st.Main))
	return nil
}

// requireReleaseMerged checks, before anything changes, that the remote's
// main holds the release: its branch was merged (merge commit or
// fast-forward), or, after a squash merge, main's version files say the
// version.
func (f *Flow) requireReleaseMerged(ctx context.Context, branch, version string) error {
	target := "refs/remotes/" + f.opts.Remote + "/" + f.opts.MainBranch
	if _, ok, err := f.repo.RevParse(ctx, target); err != nil {
		return err
	} else if !ok {
		target = "refs/heads/" + f.opts.MainBranch
	}
	shown := strings.TrimPrefix(strings.TrimPrefix(target, "refs/remotes/"), "refs/heads/")
	hint := fmt.Sprintf("merge the pull request %s → %s first, then run this again", branch, f.opts.MainBranch)
	merged := false
	for _, ref := range []string{"refs/heads/" + branch, "refs/remotes/" + f.opts.Remote + "/" + branch} {
		if _, ok, err := f.repo.RevParse(ctx, ref); err != nil {
			return err
		} else if ok {
			if merged, err = f.repo.IsAncestor(ctx, ref, target); err != nil {
				return err
			}
			break
		}
	}
	found := 0
	for _, p := range f.opts.VersionFiles {
		data, ok, err := f.repo.ShowFile(ctx, target, p)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		found++
		got, err := parseVersionFile(p, data)
		if err != nil {
			return refuse(hint, "version file %s on %s: %v", p, shown, err)
		}
		if got != version {
			return refuse(hint, "%s on %s says %s, not %s: the release is not merged into %s yet", p, shown, got, version, f.opts.MainBranch)
		}
	}
	if !merged && found == 0 {
		return refuse(hint, "%s does not contain %s and has no version file that says %s", shown, branch, version)
	}
	return nil
}

// titleWord capitalises a branch kind for a tag message: "Release", "Hotfix".
func titleWord(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
