package flow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/canaryflow/canaryflow/internal/git"
)

// step is one resumable part of a finish.
type step struct {
	name string
	// merge is set on merge steps: --continue concludes a merge stopped here.
	merge *mergeSpec
	run   func(ctx context.Context, f *Flow, st *finishState) error
}

type mergeSpec struct{ into, from string }

// ConflictError stops a finish on a merge conflict. Its message says which
// branch, which files and what to type next; the CLI exits 3.
type ConflictError struct {
	Op    string
	Into  string
	From  string
	Files []string
}

func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "merge conflict while merging %s into %s", e.From, e.Into)
	if len(e.Files) > 0 {
		b.WriteString("; conflicting files:\n")
		for _, f := range e.Files {
			fmt.Fprintf(&b, "    %s\n", f)
		}
	} else {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "  To go on: resolve the conflicts, `git add` the files, then run\n      canaryflow flow %s --continue\n", e.Op)
	fmt.Fprintf(&b, "  To undo everything this %s did:\n      canaryflow flow %s --abort", e.Op, e.Op)
	return b.String()
}

// Unwrap makes errors.Is(err, git.ErrMergeConflict) true.
func (e *ConflictError) Unwrap() error { return git.ErrMergeConflict }

// ExitCode is 3 for a stop on conflict.
func (e *ConflictError) ExitCode() int { return 3 }

// steps lists a finish's steps; the list depends only on the state, so it is
// the same on --continue as it was when the finish began.
func (st *finishState) steps() []step {
	var s []step
	merge := func(into, from, msg string) step {
		return step{
			name:  fmt.Sprintf("merging %s into %s", from, into),
			merge: &mergeSpec{into: into, from: from},
			run: func(ctx context.Context, f *Flow, st *finishState) error {
				if err := f.repo.Switch(ctx, into); err != nil {
					return err
				}
				err := f.repo.Merge(ctx, into, from, msg)
				var ce *git.ConflictError
				if errors.As(err, &ce) && st.Kind != "feature" {
					resolved, rerr := f.resolveVersionConflicts(ctx, st.Version, ce.Files)
					if rerr != nil {
						return rerr
					}
					if !resolved {
						return err
					}
					if err := f.repo.CommitMerge(ctx); err != nil {
						return fmt.Errorf("conclude merge of %s into %s: %w", from, into, err)
					}
					st.Done = append(st.Done, fmt.Sprintf("%s merged into %s (version files set to %s)", from, into, st.Version))
					return nil
				}
				if err != nil {
					return err
				}
				st.Done = append(st.Done, fmt.Sprintf("%s merged into %s", from, into))
				return nil
			},
		}
	}
	tag := step{
		name: fmt.Sprintf("tagging %s as %s", st.Main, st.Tag),
		run: func(ctx context.Context, f *Flow, st *finishState) error {
			if err := f.repo.Tag(ctx, st.Tag, "refs/heads/"+st.Main, st.Message); err != nil {
				return err
			}
			st.Done = append(st.Done, fmt.Sprintf("annotated tag %s created on %s", st.Tag, st.Main))
			return nil
		},
	}
	deleteLocal := step{
		name: "deleting branch " + st.Branch,
		run: func(ctx context.Context, f *Flow, st *finishState) error {
			ok, err := f.repo.BranchExists(ctx, st.Branch)
			if err != nil || !ok {
				return err
			}
			if err := f.repo.DeleteBranch(ctx, st.Branch, true); err != nil {
				return err
			}
			st.Done = append(st.Done, fmt.Sprintf("branch %s deleted", st.Branch))
			return nil
		},
	}
	deleteRemote := step{
		name: fmt.Sprintf("deleting %s on %s", st.Branch, st.Remote),
		run: func(ctx context.Context, f *Flow, st *finishState) error {
			ok, err := f.repo.RemoteBranchExists(ctx, st.Remote, st.Branch)
			if err != nil || !ok {
				return err
			}
			if err := f.repo.Push(ctx, st.Remote, ":refs/heads/"+st.Branch); err != nil {
				return err
			}
			st.Done = append(st.Done, fmt.Sprintf("branch %s deleted on %s", st.Branch, st.Remote))
			return nil
		},
	}
	push := func(refs ...string) step {
		return step{
			name: fmt.Sprintf("pushing %s to %s", strings.Join(shortRefs(refs), ", "), st.Remote),
			run: func(ctx context.Context, f *Flow, st *finishState) error {
				specs := make([]string, len(refs))
				for i, r := range refs {
					specs[i] = r + ":" + r
				}
				if err := f.repo.Push(ctx, st.Remote, specs...); err != nil {
					return err
				}
				st.Pushed = true
				st.Done = append(st.Done, fmt.Sprintf("pushed %s to %s", strings.Join(shortRefs(refs), ", "), st.Remote))
				return nil
			},
		}
	}
	heads := func(b string) string { return "refs/heads/" + b }
	switch st.Op {
	case "feature finish":
		s = append(s, merge(st.Develop, st.Branch, fmt.Sprintf("Merge branch '%s' into %s", st.Branch, st.Develop)))
		if !st.Keep {
			s = append(s, deleteLocal)
		}
	case "release finish", "hotfix finish":
		if st.Changelog != "" {
			s = append(s, step{
				name: fmt.Sprintf("updating %s on %s", st.Changelog, st.Branch),
				run: func(ctx context.Context, f *Flow, st *finishState) error {
					changed, err := f.refreshChangelog(ctx, st.Changelog, st.Branch, st.Version)
					if changed {
						st.Done = append(st.Done, fmt.Sprintf("release notes of %s updated in %s", st.Version, st.Changelog))
					}
					return err
				},
			})
		}
		s = append(s,
			merge(st.Main, st.Branch, fmt.Sprintf("Merge branch '%s'", st.Branch)),
			tag,
			merge(st.Develop, st.Main, fmt.Sprintf("Merge branch '%s' into %s", st.Main, st.Develop)),
		)
		if !st.Keep {
			s = append(s, deleteLocal)
		}
		if st.Push {
			s = append(s, push(heads(st.Main), heads(st.Develop), "refs/tags/"+st.Tag))
			if !st.Keep {
				s = append(s, deleteRemote)
			}
		}
	case "release tag", "hotfix tag":
		s = append(s,
			step{name: fmt.Sprintf("updating %s from %s", st.Main, st.Remote), run: func(ctx context.Context, f *Flow, st *finishState) error { return f.syncMain(ctx, st) }},
			tag,
			push("refs/tags/"+st.Tag),
		)
		if st.Host {
			s = append(s, hostRelease(st))
		}
		if st.DevelopPR {
			s = append(s, hostBackMergePR(st))
		} else {
			s = append(s,
				merge(st.Develop, st.Main, fmt.Sprintf("Merge branch '%s' into %s", st.Main, st.Develop)),
				push(heads(st.Develop)),
			)
		}
		if !st.Keep {
			s = append(s, deleteLocal, deleteRemote)
		}
	}
	return s
}

func shortRefs(refs []string) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = strings.TrimPrefix(strings.TrimPrefix(r, "refs/heads/"), "refs/tags/")
	}
	return out
}

// begin records where every ref stood, writes the marker and runs the steps.
func (f *Flow) begin(ctx context.Context, st *finishState) error {
	st.Main, st.Develop, st.Remote = f.opts.MainBranch, f.opts.DevelopBranch, f.opts.Remote
	cur, err := f.repo.CurrentBranch(ctx)
	if err != nil && !errors.Is(err, git.ErrDetached) {
		return err
	}
	st.StartBranch = cur
	st.Orig = map[string]string{}
	refs := []string{"refs/heads/" + st.Main, "refs/heads/" + st.Develop, "refs/heads/" + st.Branch}
	if st.Tag != "" {
		refs = append(refs, "refs/tags/"+st.Tag)
	}
	for _, ref := range refs {
		sha, _, err := f.repo.RevParse(ctx, ref)
		if err != nil {
			return err
		}
		st.Orig[ref] = sha
	}
	if err := f.saveState(ctx, st); err != nil {
		return err
	}
	return f.runSteps(ctx, st)
}

// runSteps runs the steps from st.Step on, saving the marker after each.
func (f *Flow) runSteps(ctx context.Context, st *finishState) error {
	steps := st.steps()
	for st.Step < len(steps) {
		s := steps[st.Step]
		if err := s.run(ctx, f, st); err != nil {
			if serr := f.saveState(ctx, st); serr != nil {
				return errors.Join(err, serr)
			}
			var ce *git.ConflictError
			if errors.As(err, &ce) {
				return &ConflictError{Op: st.Op, Into: ce.Into, From: ce.From, Files: ce.Files}
			}
			hint := fmt.Sprintf("fix the cause, then run `canaryflow flow %s --continue`", st.Op)
			if !st.Pushed {
				hint += fmt.Sprintf(", or `canaryflow flow %s --abort` to undo it", st.Op)
			}
			return &Error{Msg: fmt.Sprintf("%s stopped while %s: %v", st.Op, s.name, err), Hint: hint}
		}
		st.Step++
		if err := f.saveState(ctx, st); err != nil {
			return err
		}
	}
	if err := f.clearState(ctx); err != nil {
		return err
	}
	f.printf("Summary of actions (%s %s):\n", st.Op, st.Version)
	for _, d := range st.Done {
		f.printf("  - %s\n", d)
	}
	if cur, err := f.repo.CurrentBranch(ctx); err == nil {
		f.printf("  - you are now on %s\n", cur)
	}
	return nil
}

// Continue resumes the finish in progress; op must name it.
func (f *Flow) Continue(ctx context.Context, op string) error {
	st, err := f.loadState(ctx)
	if err != nil {
		return err
	}
	if st == nil {
		return refuse("", "no %s is in progress: nothing to continue", op)
	}
	if st.Op != op {
		return refuse(fmt.Sprintf("run `canaryflow flow %s --continue`", st.Op), "the finish in progress is a %s for %s, not a %s", st.Op, st.Version, op)
	}
	steps := st.steps()
	if st.Step < len(steps) && steps[st.Step].merge != nil {
		m := steps[st.Step].merge
		merging, err := f.repo.Merging(ctx)
		if err != nil {
			return err
		}
		switch {
		case merging:
			files, err := f.repo.UnmergedFiles(ctx)
			if err != nil {
				return err
			}
			if len(files) > 0 {
				return &Error{Code: 3, Msg: fmt.Sprintf("the merge of %s into %s still has unresolved conflicts in: %s", m.from, m.into, strings.Join(files, ", ")),
					Hint: fmt.Sprintf("resolve them, `git add` the files, then run `canaryflow flow %s --continue` again", op)}
			}
			if err := f.repo.CommitMerge(ctx); err != nil {
				return fmt.Errorf("conclude merge of %s into %s: %w", m.from, m.into, err)
			}
			st.Done = append(st.Done, fmt.Sprintf("%s merged into %s (conflicts resolved)", m.from, m.into))
			st.Step++
		default:
			// The user may have concluded the merge with git commit.
			done, err := f.repo.IsAncestor(ctx, "refs/heads/"+m.from, "refs/heads/"+m.into)
			if err != nil {
				return err
			}
			if done {
				st.Done = append(st.Done, fmt.Sprintf("%s merged into %s", m.from, m.into))
				st.Step++
			}
		}
		if err := f.saveState(ctx, st); err != nil {
			return err
		}
	}
	return f.runSteps(ctx, st)
}

// Abort undoes the finish in progress: every branch back where it was, a
// created tag removed, the starting branch checked out.
func (f *Flow) Abort(ctx context.Context, op string) error {
	st, err := f.loadState(ctx)
	if err != nil {
		return err
	}
	if st == nil {
		return refuse("", "no %s is in progress: nothing to abort", op)
	}
	if st.Op != op {
		return refuse(fmt.Sprintf("run `canaryflow flow %s --abort`", st.Op), "the finish in progress is a %s for %s, not a %s", st.Op, st.Version, op)
	}
	if st.Pushed {
		return refuse(fmt.Sprintf("run `canaryflow flow %s --continue` to complete the remaining steps", op),
			"the %s of %s already reached %s, so it cannot be undone locally", op, st.Version, st.Remote)
	}
	merging, err := f.repo.Merging(ctx)
	if err != nil {
		return err
	}
	if merging {
		if err := f.repo.AbortMerge(ctx); err != nil {
			return err
		}
	}
	// Detach so that any branch, the checked-out one included, can be moved.
	if _, err := f.repo.Run(ctx, "switch", "--quiet", "--detach"); err != nil {
		return err
	}
	for ref, sha := range st.Orig {
		cur, exists, err := f.repo.RevParse(ctx, ref)
		if err != nil {
			return err
		}
		switch {
		case sha == "" && exists:
			err = f.repo.DeleteRef(ctx, ref)
		case sha != "" && cur != sha:
			err = f.repo.SetRef(ctx, ref, sha)
		}
		if err != nil {
			return fmt.Errorf("restore %s: %w", ref, err)
		}
	}
	back := st.StartBranch
	if back == "" {
		back = st.Develop
	}
	if err := f.repo.Switch(ctx, back); err != nil {
		return err
	}
	if err := f.clearState(ctx); err != nil {
		return err
	}
	f.printf("Aborted the %s of %s: %s", st.Op, st.Version, strings.Join(restoredNames(st), ", "))
	f.printf(" are back where they were; you are on %s.\n", back)
	return nil
}

func restoredNames(st *finishState) []string {
	names := []string{st.Main, st.Develop, st.Branch}
	if st.Op == "feature finish" {
		names = []string{st.Develop, st.Branch}
	}
	if st.Tag != "" {
		names = append(names, "tag "+st.Tag)
	}
	return names
}

// resolveVersionConflicts settles a merge whose only conflicts are in
// the changelog (both sides added a version's section: see
// MergeChangelogs) and in version files that differ in nothing but the version — the usual clash
// after a hotfix, when main says 1.2.4 and the release says 1.3.0. Both
// sides get the version being released; if they are then identical the
// file is resolved and staged. It reports whether every conflict was.
func (f *Flow) resolveVersionConflicts(ctx context.Context, version string, files []string) (bool, error) {
	if len(files) == 0 {
		return false, nil
	}
	isVersionFile := map[string]bool{}
	for _, p := range f.opts.VersionFiles {
		isVersionFile[p] = true
	}
	settled := map[string][]byte{}
	for _, p := range files {
		if p == f.opts.Changelog && p != "" {
			var sides [2][]byte
			for i, stage := range []string{":2", ":3"} {
				data, ok, err := f.repo.ShowFile(ctx, stage, p)
				if err != nil || !ok {
					return false, err
				}
				sides[i] = data
			}
			merged, ok := MergeChangelogs(sides[0], sides[1])
			if !ok {
				return false, nil
			}
			settled[p] = merged
			continue
		}
		if !isVersionFile[p] {
			return false, nil
		}
		var sides [2][]byte
		for i, stage := range []string{":2", ":3"} {
			data, ok, err := f.repo.ShowFile(ctx, stage, p)
			if err != nil || !ok {
				return false, err
			}
			fixed, err := setVersionIn(p, data, version)
			if err != nil {
				return false, nil // not parseable: leave it to the user
			}
			sides[i] = fixed
		}
		if string(sides[0]) != string(sides[1]) {
			return false, nil
		}
		settled[p] = sides[0]
	}
	for p, data := range settled {
		path := filepath.Join(f.repo.Dir, p)
		info, err := os.Stat(path)
		if err != nil {
			return false, err
		}
		if err := writeFileAtomic(path, data, info.Mode().Perm()); err != nil {
			return false, err
		}
		if _, err := f.repo.Run(ctx, "add", "--", p); err != nil {
			return false, err
		}
	}
	return true, nil
}
