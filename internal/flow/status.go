package flow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/canaryflow/canaryflow/internal/git"
)

// Status is where a repository stands in the flow.
type Status struct {
	Branch     string // checked-out branch; empty when detached
	BranchType string // main, develop, feature, release, hotfix or other
	Latest     *semver.Version
	NextPatch  *semver.Version // nil when the bump would pass MaxVersionNumber
	NextMinor  *semver.Version // likewise
	NextMajor  *semver.Version // likewise
	Skipped    []string        // tags skipped for a number over MaxVersionNumber
	Open       []string        // open feature, release and hotfix branches
	InProgress string          // a finish that stopped, described; empty when none
}

// Status reports the current branch, the latest release and what is open.
func (f *Flow) Status(ctx context.Context) (*Status, error) {
	s := &Status{}
	cur, err := f.repo.CurrentBranch(ctx)
	if err != nil && !errors.Is(err, git.ErrDetached) {
		return nil, err
	}
	s.Branch = cur
	s.BranchType = f.branchType(cur)
	if s.Latest, err = f.latestTag(ctx); err != nil {
		return nil, err
	}
	base := semver.New(0, 0, 0, "", "")
	if s.Latest != nil {
		base = s.Latest
	}
	for b, next := range map[Bump]**semver.Version{BumpPatch: &s.NextPatch, BumpMinor: &s.NextMinor, BumpMajor: &s.NextMajor} {
		if v, err := b.Apply(base); err == nil {
			*next = &v
		}
	}
	tags, err := f.repo.Tags(ctx)
	if err != nil {
		return nil, err
	}
	s.Skipped = overLimitTags(f.opts.TagPrefix, tags)
	for _, p := range []string{f.opts.FeaturePrefix, f.opts.ReleasePrefix, f.opts.HotfixPrefix} {
		open, err := f.repo.Branches(ctx, p)
		if err != nil {
			return nil, err
		}
		s.Open = append(s.Open, open...)
	}
	st, err := f.loadState(ctx)
	if err != nil {
		return nil, err
	}
	if st != nil {
		s.InProgress = fmt.Sprintf("%s %s, stopped at: %s (canaryflow flow %s --continue | --abort)", st.Op, st.Version, st.stepName(), st.Op)
	}
	return s, nil
}

func (f *Flow) branchType(b string) string {
	switch {
	case b == "":
		return "detached"
	case b == f.opts.MainBranch:
		return "main"
	case b == f.opts.DevelopBranch:
		return "develop"
	case strings.HasPrefix(b, f.opts.FeaturePrefix):
		return "feature"
	case strings.HasPrefix(b, f.opts.ReleasePrefix):
		return "release"
	case strings.HasPrefix(b, f.opts.HotfixPrefix):
		return "hotfix"
	}
	return "other"
}

// Init makes sure main and develop exist: an empty repository gets an
// initial commit on main, and develop is created from the remote's develop
// or from main. Running it again changes nothing.
func (f *Flow) Init(ctx context.Context) error {
	has, err := f.repo.HasCommits(ctx)
	if err != nil {
		return err
	}
	main, dev := f.opts.MainBranch, f.opts.DevelopBranch
	if !has {
		if _, err := f.repo.Run(ctx, "symbolic-ref", "HEAD", "refs/heads/"+main); err != nil {
			return err
		}
		if err := f.repo.CommitAllowEmpty(ctx, "Initial commit"); err != nil {
			return err
		}
		f.printf("Created %s with an initial commit.\n", main)
	}
	for _, b := range []string{main, dev} {
		ok, err := f.repo.BranchExists(ctx, b)
		if err != nil {
			return err
		}
		if ok {
			f.printf("Branch %s: exists.\n", b)
			continue
		}
		remote := "refs/remotes/" + f.opts.Remote + "/" + b
		_, onRemote, err := f.repo.RevParse(ctx, remote)
		if err != nil {
			return err
		}
		switch {
		case onRemote:
			if _, err := f.repo.Run(ctx, "branch", "--track", "--", b, f.opts.Remote+"/"+b); err != nil {
				return err
			}
			f.printf("Branch %s: created from %s/%s.\n", b, f.opts.Remote, b)
		case b == dev:
			if err := f.repo.CreateBranch(ctx, dev, "refs/heads/"+main); err != nil {
				return err
			}
			f.printf("Branch %s: created from %s.\n", dev, main)
		default:
			branches, _ := f.repo.Branches(ctx, "")
			return refuse(fmt.Sprintf("set release.main_branch in canaryflow.yaml to your production branch (branches here: %s), or create %s",
				strings.Join(branches, ", "), main), "there is no %s branch", main)
		}
	}
	f.printf("Gitflow is ready: features start from %s as %s*, releases as %s*, hotfixes from %s as %s*; tags are %sX.Y.Z.\n",
		dev, f.opts.FeaturePrefix, f.opts.ReleasePrefix, main, f.opts.HotfixPrefix, f.opts.TagPrefix)
	return nil
}
