package git

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// ErrDetached is returned by CurrentBranch when HEAD is not on a branch.
var ErrDetached = errors.New("HEAD is detached (not on a branch)")

// CurrentBranch returns the short name of the checked-out branch.
func (r *Repo) CurrentBranch(ctx context.Context) (string, error) {
	out, err := r.Output(ctx, "symbolic-ref", "--quiet", "--short", "HEAD")
	if err != nil {
		if ExitCode(err) == 1 {
			return "", ErrDetached
		}
		return "", err
	}
	return out, nil
}

// RevParse resolves a revision to a full object name; ok is false when the
// revision does not exist.
func (r *Repo) RevParse(ctx context.Context, rev string) (sha string, ok bool, err error) {
	out, err := r.Output(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		if ExitCode(err) == 1 {
			return "", false, nil
		}
		return "", false, err
	}
	return out, true, nil
}

// BranchExists reports whether the local branch exists.
func (r *Repo) BranchExists(ctx context.Context, branch string) (bool, error) {
	_, ok, err := r.RevParse(ctx, "refs/heads/"+branch)
	return ok, err
}

// TagExists reports whether the tag exists locally.
func (r *Repo) TagExists(ctx context.Context, tag string) (bool, error) {
	_, err := r.Output(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", "refs/tags/"+tag)
	if err != nil {
		if ExitCode(err) == 1 {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Branches lists local branches whose names start with prefix.
func (r *Repo) Branches(ctx context.Context, prefix string) ([]string, error) {
	return r.Lines(ctx, "for-each-ref", "--format=%(refname:short)", "refs/heads/"+prefix)
}

// Tags lists all tag names.
func (r *Repo) Tags(ctx context.Context) ([]string, error) {
	return r.Lines(ctx, "for-each-ref", "--format=%(refname:short)", "refs/tags/")
}

// TagsMerged lists the tags whose commits are reachable from rev.
func (r *Repo) TagsMerged(ctx context.Context, rev string) ([]string, error) {
	return r.Lines(ctx, "tag", "--list", "--merged", rev)
}

// TagsAt lists the tags pointing at rev.
func (r *Repo) TagsAt(ctx context.Context, rev string) ([]string, error) {
	return r.Lines(ctx, "tag", "--list", "--points-at", rev)
}

// IsAncestor reports whether commit a is reachable from commit b.
func (r *Repo) IsAncestor(ctx context.Context, a, b string) (bool, error) {
	_, err := r.Run(ctx, "merge-base", "--is-ancestor", a, b)
	if err == nil {
		return true, nil
	}
	if ExitCode(err) == 1 {
		return false, nil
	}
	return false, err
}

// HasCommits reports whether the repository has at least one commit.
func (r *Repo) HasCommits(ctx context.Context) (bool, error) {
	_, ok, err := r.RevParse(ctx, "HEAD")
	return ok, err
}

// GitDir returns the absolute path of the repository's .git directory.
func (r *Repo) GitDir(ctx context.Context) (string, error) {
	out, err := r.Output(ctx, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return "", err
	}
	return out, nil
}

// RemoteExists reports whether a remote of that name is configured.
func (r *Repo) RemoteExists(ctx context.Context, remote string) (bool, error) {
	remotes, err := r.Lines(ctx, "remote")
	if err != nil {
		return false, err
	}
	for _, x := range remotes {
		if x == remote {
			return true, nil
		}
	}
	return false, nil
}

// Merging reports whether a merge is in progress (MERGE_HEAD exists).
func (r *Repo) Merging(ctx context.Context) (bool, error) {
	dir, err := r.GitDir(ctx)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(filepath.Join(dir, "MERGE_HEAD"))
	if err == nil {
		return true, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return false, err
}

// DirtyFiles lists tracked files with uncommitted changes (staged or not)
// and unmerged paths; untracked files do not count.
func (r *Repo) DirtyFiles(ctx context.Context) ([]string, error) {
	lines, err := r.Lines(ctx, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return nil, err
	}
	files := make([]string, 0, len(lines))
	for _, l := range lines {
		if len(l) > 3 {
			files = append(files, strings.TrimSpace(l[2:]))
		}
	}
	return files, nil
}

// UnmergedFiles lists paths with unresolved merge conflicts.
func (r *Repo) UnmergedFiles(ctx context.Context) ([]string, error) {
	return r.Lines(ctx, "diff", "--name-only", "--diff-filter=U")
}

// ShowFile returns the content of path at rev; ok is false when the file
// does not exist there.
func (r *Repo) ShowFile(ctx context.Context, rev, path string) (data []byte, ok bool, err error) {
	obj := rev + ":" + path
	if _, err := r.Output(ctx, "cat-file", "-e", obj); err != nil {
		if ExitCode(err) == 128 || ExitCode(err) == 1 {
			return nil, false, nil
		}
		return nil, false, err
	}
	out, err := r.Run(ctx, "cat-file", "blob", obj)
	if err != nil {
		return nil, false, err
	}
	return []byte(out), true, nil
}
