package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/flow"
	"github.com/canaryflow/canaryflow/internal/git"
)

func newFlowCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flow",
		Short: "Gitflow branches with SemVer enforced: feature, release, hotfix",
		Long: `The Gitflow steps of the release guide, one command each.

  feature/*  from develop, merged back into develop
  release/X.Y.Z  from develop; finish merges it into main, tags vX.Y.Z on main,
             merges main back into develop and deletes the branch
  hotfix/X.Y.Z   from main; finished like a release

Versions are strict SemVer (1.2.3, 1.3.0-rc.1); the tag prefix "v" is added
for you. Branch names and the tag prefix come from the release section of
canaryflow.yaml; without one, the guide's names are used.

` + exitCodesHelp,
		Example: `  canaryflow flow init
  canaryflow flow feature start add-login
  canaryflow flow feature finish
  canaryflow flow release start 1.2.3
  canaryflow flow release finish --push
  canaryflow flow hotfix start
  canaryflow flow hotfix finish --push
  # protected main (pull-request path):
  canaryflow flow hotfix publish --pr
  canaryflow flow hotfix tag`,
	}
	cmd.AddCommand(newFlowInitCommand(), newFlowStatusCommand(), newFeatureCommand(), newReleaseCommand(), newHotfixCommand())
	return cmd
}

func newFlowInitCommand() *cobra.Command {
	var defaults bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Make sure main and develop exist (develop is created from main)",
		Long: `Prepares a repository for Gitflow: an empty repository gets an initial commit
on main, a missing develop is created from the remote's develop or from main.
Running it again changes nothing. Branch names come from canaryflow.yaml;
--defaults is accepted for git-flow users (canaryflow never prompts).`,
		Example: "  canaryflow flow init --defaults",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			dir, err := workDir(cmd)
			if err != nil {
				return err
			}
			if _, err := git.Open(ctx, dir); err != nil {
				// Like git flow init: start a repository where there is none.
				if _, err := (&git.Repo{Dir: dir}).Run(ctx, "init", "--quiet"); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Initialized an empty git repository in %s.\n", dir)
			}
			f, _, err := openFlow(ctx, cmd)
			if err != nil {
				return err
			}
			return f.Init(ctx)
		},
	}
	cmd.Flags().BoolVarP(&defaults, "defaults", "d", false, "use the configured branch names without asking (the only mode)")
	return cmd
}

// flowStatusDoc is `flow status -o json`. A next version over the limit
// is "" (null would make a reader check two ways).
type flowStatusDoc struct {
	Branch        string   `json:"branch"` // "" when HEAD is detached
	BranchType    string   `json:"branchType"`
	LatestRelease string   `json:"latestRelease"` // "" before the first release
	NextPatch     string   `json:"nextPatch"`
	NextMinor     string   `json:"nextMinor"`
	NextMajor     string   `json:"nextMajor"`
	SkippedTags   []string `json:"skippedTags"`
	OpenBranches  []string `json:"openBranches"`
	InProgress    string   `json:"inProgress"` // a finish that stopped; "" when none
}

func versionString(v *semver.Version) string {
	if v == nil {
		return ""
	}
	return v.String()
}

func newFlowStatusCommand() *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the current branch, the latest release and the next versions",
		Example: `  canaryflow flow status
  canaryflow flow status -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			f, _, err := openFlow(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			s, err := f.Status(cmd.Context())
			if err != nil {
				return err
			}
			doc := flowStatusDoc{Branch: s.Branch, BranchType: s.BranchType, LatestRelease: versionString(s.Latest),
				NextPatch: versionString(s.NextPatch), NextMinor: versionString(s.NextMinor), NextMajor: versionString(s.NextMajor),
				SkippedTags: append([]string{}, s.Skipped...), OpenBranches: append([]string{}, s.Open...), InProgress: s.InProgress}
			return out.print(cmd.OutOrStdout(), doc, func() {
				w := cmd.OutOrStdout()
				branch := s.Branch
				if branch == "" {
					branch = "(detached HEAD)"
				}
				fmt.Fprintf(w, "Branch:          %s (%s)\n", branch, s.BranchType)
				latest := "none yet"
				if s.Latest != nil {
					latest = s.Latest.String()
				}
				fmt.Fprintf(w, "Latest release:  %s\n", latest)
				fmt.Fprintf(w, "Next:            patch %s · minor %s · major %s\n", nextOrLimit(s.NextPatch), nextOrLimit(s.NextMinor), nextOrLimit(s.NextMajor))
				if len(s.Skipped) > 0 {
					fmt.Fprintf(w, "Skipped tags:    %s (a number over %d: not release tags)\n", joinComma(s.Skipped), flow.MaxVersionNumber)
				}
				if len(s.Open) > 0 {
					fmt.Fprintf(w, "Open branches:   %s\n", joinComma(s.Open))
				}
				if s.InProgress != "" {
					fmt.Fprintf(w, "In progress:     %s\n", s.InProgress)
				}
			})
		},
	}
	out.register(cmd, false)
	return cmd
}

func newFeatureCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "feature",
		Short: "Feature branches: start from develop, finish into develop",
		Example: `  canaryflow flow feature start add-login
  canaryflow flow feature finish add-login
  canaryflow flow feature list
  canaryflow flow feature delete add-login`,
	}
	start := &cobra.Command{
		Use:     "start NAME",
		Example: `  canaryflow flow feature start add-login   # creates feature/add-login from develop`,
		Short:   "Create feature/NAME from develop and switch to it",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := flow.ValidateName("feature", args[0]); err != nil {
				return err
			}
			f, _, err := openFlow(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			return f.FeatureStart(cmd.Context(), args[0])
		},
	}
	finish := &cobra.Command{
		Use:               "finish [NAME]",
		ValidArgsFunction: completeBranches(branchPrefix("feature")),
		Example: `  canaryflow flow feature finish             # the checked-out feature branch
  canaryflow flow feature finish add-login --keep
  canaryflow flow feature finish --continue  # after resolving a conflict
  canaryflow flow feature finish --abort`,
		Short: "Merge feature/NAME into develop (--no-ff) and delete it",
		Long: `Merges the feature branch into develop with a merge commit and deletes it.
Without NAME, the checked-out feature branch is finished. On a merge conflict
it stops and tells you what to do: resolve, git add, then --continue; or
--abort to put develop and the branch back as they were.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
	}
	keep := finish.Flags().Bool("keep", false, "keep the feature branch after finishing")
	resumable(finish, "feature finish", func(ctx context.Context, f *flow.Flow, args []string) error {
		return f.FeatureFinish(ctx, firstArg(args), *keep)
	}, func(args []string) error {
		if len(args) == 1 {
			return flow.ValidateName("feature", args[0])
		}
		return nil
	})
	var listOut output
	list := &cobra.Command{
		Use:   "list",
		Short: "List feature branches",
		Example: `  canaryflow flow feature list
  canaryflow flow feature list -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := listOut.check(); err != nil {
				return err
			}
			f, repo, err := openFlow(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			names, err := f.FeatureList(cmd.Context())
			if err != nil {
				return err
			}
			cur, _ := repo.CurrentBranch(cmd.Context())
			if listOut.structured() {
				type branch struct {
					Name    string `json:"name"`
					Current bool   `json:"current"`
				}
				docs := []branch{}
				for _, n := range names {
					docs = append(docs, branch{Name: n, Current: n == cur})
				}
				return listOut.print(cmd.OutOrStdout(), docs, nil)
			}
			if len(names) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "No feature branches. Start one with: canaryflow flow feature start NAME")
			}
			for _, n := range names {
				mark := "  "
				if n == cur {
					mark = "* "
				}
				fmt.Fprintln(cmd.OutOrStdout(), mark+n)
			}
			return nil
		},
	}
	del := &cobra.Command{
		Use:               "delete NAME",
		ValidArgsFunction: completeBranches(branchPrefix("feature")),
		Example: `  canaryflow flow feature delete add-login
  canaryflow flow feature delete add-login --force   # even with unmerged commits`,
		Short: "Delete feature/NAME (refused if unmerged, unless --force)",
		Args:  usageArgs(cobra.ExactArgs(1)),
	}
	force := del.Flags().BoolP("force", "f", false, "delete even if the branch has commits not in develop")
	del.RunE = func(cmd *cobra.Command, args []string) error {
		if err := flow.ValidateName("feature", args[0]); err != nil {
			return err
		}
		f, _, err := openFlow(cmd.Context(), cmd)
		if err != nil {
			return err
		}
		return f.FeatureDelete(cmd.Context(), args[0], *force)
	}
	listOut.register(list, false)
	cmd.AddCommand(start, finish, list, del)
	return cmd
}

// resumable gives a finish command --continue and --abort. check validates
// the arguments before any git command runs.
func resumable(cmd *cobra.Command, op string, run func(context.Context, *flow.Flow, []string) error, check func([]string) error) {
	cont := cmd.Flags().Bool("continue", false, "resume a finish that stopped on a merge conflict, once it is resolved")
	abort := cmd.Flags().Bool("abort", false, "undo a finish that stopped: every branch back where it was, the tag removed")
	cmd.MarkFlagsMutuallyExclusive("continue", "abort")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if (*cont || *abort) && len(args) > 0 {
			return usageErrorf("--continue and --abort take no arguments")
		}
		if err := check(args); err != nil {
			return err
		}
		f, repo, err := openFlow(cmd.Context(), cmd)
		if err != nil {
			return err
		}
		if strings.HasSuffix(op, " tag") {
			// A tag publishes on the hosting side, on --continue too.
			if err := setHost(cmd, f, repo); err != nil {
				return err
			}
		}
		switch {
		case *cont:
			return f.Continue(cmd.Context(), op)
		case *abort:
			return f.Abort(cmd.Context(), op)
		}
		return run(cmd.Context(), f, args)
	}
}

func newReleaseCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "release",
		Short: "Release branches: start from develop, finish into main with a tag",
		Example: `  canaryflow flow release start 1.2.3        # or --bump minor, or auto from commits
  canaryflow flow release finish --push      # merge to main, tag v1.2.3, back-merge, push
  # protected main (pull-request path):
  canaryflow flow release publish --pr       # push release/1.2.3, open the PR "Release v1.2.3" to main
  canaryflow flow release tag 1.2.3          # after the PR is merged: tag, push, GitHub Release, back-merge`,
	}
	cmd.AddCommand(
		newStartCommand("release", "develop", (*flow.Flow).ReleaseStart),
		newFinishCommand("release", "release finish", (*flow.Flow).ReleaseFinish),
		newPublishCommand("release", (*flow.Flow).ReleasePublish),
		newTagCommand("release", (*flow.Flow).ReleaseTag),
	)
	return cmd
}

func newHotfixCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hotfix",
		Short: "Hotfix branches: start from main, finish into main with a tag",
		Example: `  canaryflow flow hotfix start               # next patch of the latest tag
  canaryflow flow hotfix finish --push
  # protected main (pull-request path):
  canaryflow flow hotfix publish --pr
  canaryflow flow hotfix tag`,
	}
	cmd.AddCommand(
		newStartCommand("hotfix", "main", (*flow.Flow).HotfixStart),
		newFinishCommand("hotfix", "hotfix finish", (*flow.Flow).HotfixFinish),
		newPublishCommand("hotfix", (*flow.Flow).HotfixPublish),
		newTagCommand("hotfix", (*flow.Flow).HotfixTag),
	)
	return cmd
}

func newStartCommand(kind, base string, start func(*flow.Flow, context.Context, flow.StartOptions) error) *cobra.Command {
	var bump string
	var force bool
	def := "auto"
	if kind == "hotfix" {
		def = "patch"
	}
	cmd := &cobra.Command{
		Use:   "start [VERSION]",
		Short: fmt.Sprintf("Create %s/X.Y.Z from %s and commit the version into the version files", kind, base),
		Long: fmt.Sprintf(`Creates %s/X.Y.Z from %s, writes X.Y.Z into the version files that exist
(default: package.json "version" and VERSION) and commits "Bump version to X.Y.Z".

Without VERSION the version is the latest tag bumped by --bump (default %s;
auto reads the Conventional Commits since the latest tag: fix → patch,
feat → minor, "!" or BREAKING CHANGE → major). The version must be strict
SemVer without build metadata, greater than every existing tag and not
lower than the version files say (unless --force), and the working tree
clean.`, kind, base, def),
		Example: fmt.Sprintf(`  canaryflow flow %[1]s start %[2]s
  canaryflow flow %[1]s start --bump %[3]s`, kind, map[string]string{"release": "1.3.0", "hotfix": "1.2.4"}[kind], map[string]string{"release": "minor", "hotfix": "patch"}[kind]),
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := firstArg(args)
			if err := flow.CheckVersionArg(v); err != nil {
				return err
			}
			if bump != "" && bump != "auto" {
				if _, err := flow.ParseBump(bump); err != nil {
					return usageErrorf("%v", err)
				}
			}
			f, _, err := openFlow(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			return start(f, cmd.Context(), flow.StartOptions{Version: v, Bump: bump, Force: force})
		},
	}
	cmd.Flags().StringVar(&bump, "bump", "", "major, minor, patch or auto, when no VERSION is given (default "+def+")")
	cmd.Flags().BoolVar(&force, "force", false, "allow a version lower than the version files hold")
	_ = cmd.RegisterFlagCompletionFunc("bump", cobra.FixedCompletions([]string{"major", "minor", "patch", "auto"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newFinishCommand(kind, op string, finish func(*flow.Flow, context.Context, flow.FinishOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "finish [VERSION]",
		ValidArgsFunction: completeBranches(branchPrefix(kind)),
		Short:             fmt.Sprintf("Merge %s/X.Y.Z into main, tag it, merge main back into develop", kind),
		Long: fmt.Sprintf(`Finishes %[1]s/X.Y.Z: merges it into main (--no-ff), creates the annotated tag
vX.Y.Z on main, merges main back into develop and deletes the branch (unless
--keep). With --push it then pushes main, develop and the tag to origin in one
atomic push and deletes the remote %[1]s branch. Before anything changes it
checks the tree is clean, the tag is new, and (with --push) that main and
develop are not behind origin.

On a merge conflict it stops, says which branch and files, and how to go on:
resolve, git add, then --continue; or --abort to put every branch back.`, kind),
		Example: fmt.Sprintf(`  canaryflow flow %[1]s finish --push          # the checked-out %[1]s branch
  canaryflow flow %[1]s finish %[2]s -m "%[3]s %[2]s"
  canaryflow flow %[1]s finish --continue      # after resolving a conflict
  canaryflow flow %[1]s finish --abort`, kind, map[string]string{"release": "1.3.0", "hotfix": "1.2.4"}[kind], titleCase(kind)),
		Args: usageArgs(cobra.MaximumNArgs(1)),
	}
	push := cmd.Flags().Bool("push", false, "push main, develop and the tag, and delete the remote branch")
	msg := cmd.Flags().StringP("message", "m", "", "tag message (default \""+titleCase(kind)+" X.Y.Z\")")
	keep := cmd.Flags().BoolP("keep", "k", false, "keep the "+kind+" branch")
	resumable(cmd, op, func(ctx context.Context, f *flow.Flow, args []string) error {
		return finish(f, ctx, flow.FinishOptions{Version: firstArg(args), Push: *push, Message: *msg, Keep: *keep})
	}, func(args []string) error { return flow.CheckVersionArg(firstArg(args)) })
	return cmd
}

func firstArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return ""
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func joinComma(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// nextOrLimit prints a next version, or says the bump is over the limit.
func nextOrLimit(v *semver.Version) string {
	if v == nil {
		return "(over the limit)"
	}
	return v.String()
}
