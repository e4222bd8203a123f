package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/flow"
	"github.com/canaryflow/canaryflow/internal/git"
	"github.com/canaryflow/canaryflow/internal/githubapi"
	"github.com/canaryflow/canaryflow/internal/protect"
)

// newPublishCommand is `flow release|hotfix publish`: push the branch for
// a pull request into a protected main, and with --pr open it.
func newPublishCommand(kind string, publish func(*flow.Flow, context.Context, flow.PublishOptions) error) *cobra.Command {
	var pr bool
	cmd := &cobra.Command{
		Use:   "publish [VERSION]",
		Short: fmt.Sprintf("Push the %s branch for a pull request into a protected main (--pr opens it)", kind),
		Long: fmt.Sprintf(`Pushes %[1]s/X.Y.Z to origin so a pull request into main can be opened (the
guide's path when main is protected, §6.2). With --pr it opens it on GitHub:
titled "Release vX.Y.Z", its body the release notes (canaryflow version notes).
The token is GITHUB_TOKEN, GH_TOKEN or `+"`gh auth token`"+`; without one, the `+"`gh`"+`
command that opens the same pull request is printed instead, and the exit
code is 0. After the pull request is merged, run `+"`canaryflow flow %[1]s tag`"+`.`, kind),
		ValidArgsFunction: completeBranches(branchPrefix(kind)),
		Example: fmt.Sprintf(`  canaryflow flow %[1]s publish          # the checked-out %[1]s branch
  canaryflow flow %[1]s publish 1.3.0 --pr`, kind),
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := flow.CheckVersionArg(firstArg(args)); err != nil {
				return err
			}
			f, repo, err := openFlow(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			if pr {
				if err := setHost(cmd, f, repo); err != nil {
					return err
				}
			}
			return publish(f, cmd.Context(), flow.PublishOptions{Version: firstArg(args), PR: pr})
		},
	}
	cmd.Flags().BoolVar(&pr, "pr", false, "open the pull request into main on GitHub (or print the gh command without a token)")
	return cmd
}

// newTagCommand is `flow release|hotfix tag`, run once the pull request
// into main is merged.
func newTagCommand(kind string, tag func(*flow.Flow, context.Context, flow.FinishOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tag [VERSION]",
		Short: fmt.Sprintf("After the %s PR is merged: tag main, push the tag, publish the release, back-merge into develop", kind),
		Long: fmt.Sprintf(`Completes a %[1]s whose pull request into main was merged on the hosting
side: fast-forwards main from origin, checks its version files say X.Y.Z,
creates and pushes the annotated tag vX.Y.Z (which starts the pipeline).

On GitHub it then creates the GitHub Release of the tag with its notes, and,
when develop is protected, opens the pull request main → develop; otherwise
(and on any other origin) it merges main back into develop and pushes it, as
before. Without a token the gh commands are printed instead. It deletes the
%[1]s branch locally and on origin (unless --keep). Conflicts stop it like a
finish: --continue or --abort.`, kind),
		ValidArgsFunction: completeBranches(branchPrefix(kind)),
		Example: fmt.Sprintf(`  canaryflow flow %[1]s tag 1.3.0
  canaryflow flow %[1]s tag 1.3.0 --keep`, kind),
		Args: usageArgs(cobra.MaximumNArgs(1)),
	}
	msg := cmd.Flags().StringP("message", "m", "", "tag message (default \""+titleCase(kind)+" X.Y.Z\")")
	keep := cmd.Flags().BoolP("keep", "k", false, "keep the "+kind+" branch")
	resumable(cmd, kind+" tag", func(ctx context.Context, f *flow.Flow, args []string) error {
		return tag(f, ctx, flow.FinishOptions{Version: firstArg(args), Message: *msg, Keep: *keep})
	}, func(args []string) error { return flow.CheckVersionArg(firstArg(args)) })
	return cmd
}

// setHost gives f the hosting side of the origin: a GitHub client with a
// token, a printer of gh commands without one, nothing for another host.
// The remote's URL is read as configured, before any insteadOf rewriting.
func setHost(cmd *cobra.Command, f *flow.Flow, repo *git.Repo) error {
	cfg, err := loadConfig(cmd, repo.Dir)
	if err != nil {
		return err
	}
	h, err := originHost(cmd.Context(), cfg, repo, cmd.OutOrStdout())
	if err != nil {
		return err
	}
	if h != nil {
		f.SetHost(h)
	}
	return nil
}

func originHost(ctx context.Context, cfg *config.Config, repo *git.Repo, out io.Writer) (flow.Host, error) {
	raw, err := remoteURL(ctx, repo, cfg.Release.Remote)
	if err != nil {
		return nil, nil
	}
	owner, name, ok := protect.GitHubRepo(raw)
	if !ok {
		return nil, nil
	}
	token := githubapi.Token(ctx)
	if token == "" {
		dir, err := repo.GitDir(ctx)
		if err != nil {
			return nil, err
		}
		return &ghPrinter{out: out, repo: owner + "/" + name, dir: filepath.Join(dir, "canaryflow")}, nil
	}
	return githubapi.New(githubapi.Options{Owner: owner, Repo: name, Token: token})
}

// ghPrinter is the hosting side without a token: it writes each body to a
// file under .git/canaryflow/ and prints the gh command that does what a
// token would have done.
type ghPrinter struct {
	out  io.Writer
	repo string
	dir  string
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (p *ghPrinter) bodyFile(kind, name, body string) (string, error) {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(p.dir, kind+"-"+unsafeFileChars.ReplaceAllString(name, "-")+".md")
	return path, os.WriteFile(path, []byte(body), 0o644)
}

func (p *ghPrinter) OpenPullRequest(_ context.Context, head, base, title, body string) (string, error) {
	file, err := p.bodyFile("pr", head+"-"+base, body)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(p.out, "No GitHub token (GITHUB_TOKEN, GH_TOKEN or gh auth login): open the pull request with\n    %s\n",
		shellLine("gh", "pr", "create", "--repo", p.repo, "--base", base, "--head", head, "--title", title, "--body-file", file))
	return "(printed the gh command)", nil
}

func (p *ghPrinter) CreateRelease(_ context.Context, tag, title, notes string) (string, error) {
	file, err := p.bodyFile("release", tag, notes)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(p.out, "No GitHub token: publish the release with\n    %s\n",
		shellLine("gh", "release", "create", tag, "--repo", p.repo, "--verify-tag", "--title", title, "--notes-file", file))
	return "(printed the gh command)", nil
}

// Protected is unknown without a token: develop is merged locally, as
// without protection; a refused push stops the tag with --continue open.
func (p *ghPrinter) Protected(context.Context, string) (bool, error) { return false, nil }

// shellLine shows argv as a person would type it, quoting what needs it.
func shellLine(argv ...string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@") == "" {
			out[i] = a
		} else {
			out[i] = protect.ShellQuote(a)
		}
	}
	return strings.Join(out, " ")
}

// remoteURL is the remote's URL as configured: what the team calls its
// origin, before any insteadOf rewriting.
func remoteURL(ctx context.Context, repo *git.Repo, remote string) (string, error) {
	u, err := repo.Output(ctx, "config", "--get", "remote."+remote+".url")
	if err == nil && u == "" {
		err = fmt.Errorf("remote %q has no URL", remote)
	}
	return u, err
}
