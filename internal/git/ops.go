package git

import (
	"context"
	"errors"
	"fmt"
)

// ErrMergeConflict is returned by Merge when git stops on conflicts.
var ErrMergeConflict = errors.New("merge conflict")

// ConflictError is a merge that stopped with conflicting files.
type ConflictError struct {
	Into, From string   // target branch and what was merged into it
	Files      []string // paths with conflicts
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("merging %s into %s: conflicts in %v", e.From, e.Into, e.Files)
}

// Unwrap makes errors.Is(err, ErrMergeConflict) true.
func (e *ConflictError) Unwrap() error { return ErrMergeConflict }

// Switch checks out an existing local branch.
func (r *Repo) Switch(ctx context.Context, branch string) error {
	_, err := r.Run(ctx, "switch", "--quiet", "--", branch)
	return err
}

// CreateBranch creates branch at start without checking it out.
func (r *Repo) CreateBranch(ctx context.Context, branch, start string) error {
	_, err := r.Run(ctx, "branch", "--no-track", "--", branch, start)
	return err
}

// DeleteBranch deletes a local branch; force deletes it even if unmerged.
func (r *Repo) DeleteBranch(ctx context.Context, branch string, force bool) error {
	flag := "-d"
	if force {
		flag = "-D"
	}
	_, err := r.Run(ctx, "branch", "--quiet", flag, "--", branch)
	return err
}

// SetRef points a ref at sha unconditionally (used to undo an operation).
func (r *Repo) SetRef(ctx context.Context, ref, sha string) error {
	_, err := r.Run(ctx, "update-ref", "-m", "canaryflow: restore", ref, sha)
	return err
}

// DeleteRef removes a ref (used to undo a created tag or branch).
func (r *Repo) DeleteRef(ctx context.Context, ref string) error {
	_, err := r.Run(ctx, "update-ref", "-d", ref)
	return err
}

// Merge merges from into the checked-out branch with a merge commit
// (--no-ff). On conflicts it leaves the merge in progress and returns a
// *ConflictError naming the files.
func (r *Repo) Merge(ctx context.Context, into, from, message string) error {
	_, err := r.Run(ctx, "merge", "--no-ff", "--no-edit", "-m", message, "--", from)
	if err == nil {
		return nil
	}
	merging, merr := r.Merging(ctx)
	if merr == nil && merging {
		files, _ := r.UnmergedFiles(ctx)
		return &ConflictError{Into: into, From: from, Files: files}
	}
	return err
}

// AbortMerge abandons a merge in progress.
func (r *Repo) AbortMerge(ctx context.Context) error {
	_, err := r.Run(ctx, "merge", "--abort")
	return err
}

// CommitMerge concludes a merge whose conflicts are resolved and staged.
func (r *Repo) CommitMerge(ctx context.Context) error {
	_, err := r.Run(ctx, "commit", "--no-edit", "--quiet")
	return err
}

// Commit stages the given paths and commits them with message.
func (r *Repo) Commit(ctx context.Context, message string, paths ...string) error {
	args := append([]string{"add", "--"}, paths...)
	if _, err := r.Run(ctx, args...); err != nil {
		return err
	}
	_, err := r.Run(ctx, "commit", "--quiet", "-m", message, "--")
	if err != nil {
		return err
	}
	return nil
}

// CommitAllowEmpty makes a commit even when nothing changed.
func (r *Repo) CommitAllowEmpty(ctx context.Context, message string) error {
	_, err := r.Run(ctx, "commit", "--quiet", "--allow-empty", "-m", message)
	return err
}

// Tag creates an annotated tag at rev.
func (r *Repo) Tag(ctx context.Context, tag, rev, message string) error {
	_, err := r.Run(ctx, "tag", "--annotate", "-m", message, "--", tag, rev)
	return err
}

// Fetch fetches from remote, including tags.
func (r *Repo) Fetch(ctx context.Context, remote string) error {
	_, err := r.Run(ctx, "fetch", "--quiet", "--tags", "--", remote)
	return err
}

// Push pushes refspecs to remote atomically: all of them or none.
func (r *Repo) Push(ctx context.Context, remote string, refspecs ...string) error {
	args := append([]string{"push", "--quiet", "--atomic", "--", remote}, refspecs...)
	_, err := r.Run(ctx, args...)
	return err
}

// PushUpstream pushes branch to remote and sets it as the branch's upstream.
func (r *Repo) PushUpstream(ctx context.Context, remote, branch string) error {
	_, err := r.Run(ctx, "push", "--quiet", "--set-upstream", "--", remote, "refs/heads/"+branch+":refs/heads/"+branch)
	return err
}

// RemoteBranchExists asks the remote whether branch exists there.
func (r *Repo) RemoteBranchExists(ctx context.Context, remote, branch string) (bool, error) {
	out, err := r.Output(ctx, "ls-remote", "--heads", "--", remote, "refs/heads/"+branch)
	if err != nil {
		return false, err
	}
	return out != "", nil
}
