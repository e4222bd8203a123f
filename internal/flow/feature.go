package flow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/canaryflow/canaryflow/internal/git"
)

// FeatureStart creates feature/NAME from develop and checks it out.
func (f *Flow) FeatureStart(ctx context.Context, name string) error {
	if err := ValidateName("feature", name); err != nil {
		return err
	}
	if rest, ok := strings.CutPrefix(name, f.opts.FeaturePrefix); ok && rest != "" {
		return badInput("give the name without the prefix: canaryflow flow feature start "+rest,
			"feature name %s starts with %s: the branch would be %s%s", name, f.opts.FeaturePrefix, f.opts.FeaturePrefix, name)
	}
	branch := f.opts.FeaturePrefix + name
	if err := f.startChecks(ctx, f.opts.DevelopBranch, branch); err != nil {
		return err
	}
	if err := f.createAndSwitch(ctx, branch, f.opts.DevelopBranch); err != nil {
		return err
	}
	f.printf("Switched to a new branch %s (from %s).\nCommit your work on it; when it is done, run:\n    canaryflow flow feature finish %s\n",
		branch, f.opts.DevelopBranch, name)
	return nil
}

// FeatureFinish merges feature/NAME into develop with a merge commit and
// deletes the branch (unless keep). An empty name means the current branch.
func (f *Flow) FeatureFinish(ctx context.Context, name string, keep bool) error {
	name = f.withoutFeaturePrefix(name)
	name, err := f.currentOrNamed(ctx, "feature", f.opts.FeaturePrefix, name)
	if err != nil {
		return err
	}
	branch := f.opts.FeaturePrefix + name
	if err := f.finishChecks(ctx, branch); err != nil {
		return err
	}
	return f.begin(ctx, &finishState{Op: "feature finish", Kind: "feature", Version: name, Branch: branch, Keep: keep})
}

// withoutFeaturePrefix lets finish and delete take the branch's full name
// (feature/x) as well as x, as git-flow users type it.
func (f *Flow) withoutFeaturePrefix(name string) string {
	if rest, ok := strings.CutPrefix(name, f.opts.FeaturePrefix); ok && rest != "" {
		return rest
	}
	return name
}

// FeatureList prints the feature branches, marking the current one.
func (f *Flow) FeatureList(ctx context.Context) ([]string, error) {
	return f.repo.Branches(ctx, f.opts.FeaturePrefix)
}

// FeatureDelete deletes feature/NAME; force deletes it even if unmerged.
func (f *Flow) FeatureDelete(ctx context.Context, name string, force bool) error {
	name = f.withoutFeaturePrefix(name)
	if err := ValidateName("feature", name); err != nil {
		return err
	}
	branch := f.opts.FeaturePrefix + name
	ok, err := f.repo.BranchExists(ctx, branch)
	if err != nil {
		return err
	}
	if !ok {
		return badInput("see `canaryflow flow feature list`", "branch %s does not exist", branch)
	}
	if cur, _ := f.repo.CurrentBranch(ctx); cur == branch {
		return refuse(fmt.Sprintf("switch to another branch first: git switch %s", f.opts.DevelopBranch), "%s is checked out", branch)
	}
	if !force {
		merged, err := f.repo.IsAncestor(ctx, "refs/heads/"+branch, "refs/heads/"+f.opts.DevelopBranch)
		if err != nil {
			return err
		}
		if !merged {
			return refuse("finish it with `canaryflow flow feature finish "+name+"`, or delete it anyway with --force",
				"%s has commits that are not in %s", branch, f.opts.DevelopBranch)
		}
	}
	if err := f.repo.DeleteBranch(ctx, branch, true); err != nil {
		return err
	}
	f.printf("Deleted branch %s.\n", branch)
	return nil
}

// startChecks are the preconditions of every start: nothing half done, a
// clean tree, the base branch present and the new branch not.
func (f *Flow) startChecks(ctx context.Context, base, branch string) error {
	if err := f.requireNoFinishInProgress(ctx); err != nil {
		return err
	}
	if err := f.requireClean(ctx); err != nil {
		return err
	}
	if err := f.requireBranch(ctx, base); err != nil {
		return err
	}
	exists, err := f.repo.BranchExists(ctx, branch)
	if err != nil {
		return err
	}
	if exists {
		return badInput(fmt.Sprintf("switch to it with `git switch %s`, or pick another name", branch), "branch %s already exists", branch)
	}
	return nil
}

// finishChecks are the preconditions of every finish.
func (f *Flow) finishChecks(ctx context.Context, branch string) error {
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
	ok, err := f.repo.BranchExists(ctx, branch)
	if err != nil {
		return err
	}
	if !ok {
		return badInput("", "branch %s does not exist", branch)
	}
	return nil
}

// createAndSwitch creates branch at base and checks it out.
func (f *Flow) createAndSwitch(ctx context.Context, branch, base string) error {
	if err := f.repo.CreateBranch(ctx, branch, "refs/heads/"+base); err != nil {
		return err
	}
	return f.repo.Switch(ctx, branch)
}

// currentOrNamed resolves the name a finish works on: the one given, else
// the checked-out branch of that kind, else the only such branch.
func (f *Flow) currentOrNamed(ctx context.Context, kind, prefix, name string) (string, error) {
	if name != "" {
		if err := ValidateName(kind, name); err != nil {
			return "", err
		}
		return name, nil
	}
	cur, err := f.repo.CurrentBranch(ctx)
	if err != nil && !errors.Is(err, git.ErrDetached) {
		return "", err
	}
	if strings.HasPrefix(cur, prefix) {
		return strings.TrimPrefix(cur, prefix), nil
	}
	open, err := f.repo.Branches(ctx, prefix)
	if err != nil {
		return "", err
	}
	switch len(open) {
	case 0:
		return "", badInput(fmt.Sprintf("start one with `canaryflow flow %s start`", kind), "no %s branch (%s*) exists", kind, prefix)
	case 1:
		return strings.TrimPrefix(open[0], prefix), nil
	}
	return "", badInput(fmt.Sprintf("name the one to finish: canaryflow flow %s finish NAME", kind),
		"you are not on a %s branch and several exist: %s", kind, strings.Join(open, ", "))
}
