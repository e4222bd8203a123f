package flow

import (
	"context"
	"fmt"
)

// Host is the hosting side of the pull-request path (§6.2, §6.3): where
// pull requests are opened and releases published. The CLI gives a GitHub
// client when it has a token, or one that prints the equivalent `gh`
// commands when it has none. A Flow without a Host opens nothing.
type Host interface {
	// OpenPullRequest asks to merge head into base and returns its address.
	OpenPullRequest(ctx context.Context, head, base, title, body string) (string, error)
	// CreateRelease publishes the release of tag with notes as its body.
	CreateRelease(ctx context.Context, tag, title, notes string) (string, error)
	// Protected reports whether pushes straight to branch are refused, so a
	// merge into it must be a pull request.
	Protected(ctx context.Context, branch string) (bool, error)
}

// SetHost gives the flow a hosting side; nil removes it.
func (f *Flow) SetHost(h Host) { f.host = h }

// PublishOptions tune a publish.
type PublishOptions struct {
	Version string // empty: the checked-out or only branch of the kind
	// PR opens the pull request into main after the push (needs a Host).
	PR bool
}

// HotfixPublish pushes the hotfix branch, like ReleasePublish, for a main
// that takes pull requests only.
func (f *Flow) HotfixPublish(ctx context.Context, o PublishOptions) error {
	return f.publish(ctx, f.hotfixKind(), o)
}

// openReleasePR opens the pull request of branch (version v) into main,
// titled "Release <tag>" with the version's notes as its body.
func (f *Flow) openReleasePR(ctx context.Context, branch, version string) error {
	if f.host == nil {
		return refuse("--pr needs an origin on GitHub; open the pull request on your host", "no hosting side to open a pull request on")
	}
	notes, err := f.ReleaseNotes(ctx, "")
	if err != nil {
		return err
	}
	title := fmt.Sprintf("Release %s%s", f.opts.TagPrefix, version)
	url, err := f.host.OpenPullRequest(ctx, branch, f.opts.MainBranch, title, notes.Markdown())
	if err != nil {
		return fmt.Errorf("open the pull request %s → %s: %w", branch, f.opts.MainBranch, err)
	}
	if url != "" {
		f.printf("Opened pull request %q (%s → %s): %s\n", title, branch, f.opts.MainBranch, url)
	}
	return nil
}

// hostSteps are the steps of a release tag that talk to the host: the
// Release of the tag, and the pull request main → develop that replaces
// the local back-merge when develop is protected.
func hostRelease(st *finishState) step {
	return step{
		name: "publishing the release of " + st.Tag,
		run: func(ctx context.Context, f *Flow, st *finishState) error {
			if f.host == nil {
				return refuse("run it again from a shell where the token is set (GITHUB_TOKEN)", "the release of %s needs the hosting side it began with", st.Tag)
			}
			notes, err := f.ReleaseNotes(ctx, st.Tag)
			if err != nil {
				return err
			}
			url, err := f.host.CreateRelease(ctx, st.Tag, st.Tag, notes.Markdown())
			if err != nil {
				return err
			}
			st.Done = append(st.Done, fmt.Sprintf("release %s published %s", st.Tag, url))
			return nil
		},
	}
}

func hostBackMergePR(st *finishState) step {
	return step{
		name: fmt.Sprintf("opening the pull request %s → %s", st.Main, st.Develop),
		run: func(ctx context.Context, f *Flow, st *finishState) error {
			if f.host == nil {
				return refuse("run it again from a shell where the token is set (GITHUB_TOKEN)", "the pull request %s → %s needs the hosting side it began with", st.Main, st.Develop)
			}
			title := fmt.Sprintf("Merge release %s back to %s", st.Tag, st.Develop)
			body := fmt.Sprintf("Brings %s, as released in %s, back into %s (Gitflow's back-merge; %s is protected).", st.Main, st.Tag, st.Develop, st.Develop)
			url, err := f.host.OpenPullRequest(ctx, st.Main, st.Develop, title, body)
			if err != nil {
				return err
			}
			st.Done = append(st.Done, fmt.Sprintf("pull request %s → %s opened %s", st.Main, st.Develop, url))
			return nil
		},
	}
}
