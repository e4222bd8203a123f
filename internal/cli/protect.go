package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/flow"
	"github.com/canaryflow/canaryflow/internal/git"
	"github.com/canaryflow/canaryflow/internal/protect"
)

// protectFlags are the flags of `canaryflow protect`.
type protectFlags struct {
	dryRun bool
	check  bool
	output string
}

func newProtectCommand() *cobra.Command {
	var pf protectFlags
	cmd := &cobra.Command{
		Use:   "protect",
		Short: "Protect main, develop and the release tags on the origin (GitHub rulesets or a local hook)",
		Long: `Applies the guide's branch protection (§4.1.1, §6.4) to the origin, whatever it is.

On GitHub it creates or updates three repository rulesets: main and develop
need a pull request (one approval, stale approvals dismissed, conversations
resolved), the status checks of release.protect.status_checks, and are
never force-pushed or deleted; release tags (` + "`<tag_prefix>*`" + `) can be
created but never updated or deleted. The token is GITHUB_TOKEN, GH_TOKEN, or
what ` + "`gh auth token`" + ` prints. A second run changes nothing and says so.

On a local origin (a path or a file:// URL, as the demo and the local
pipeline use) it installs a pre-receive hook that runs
` + "`canaryflow hook pre-receive`" + ` and enforces the same rules server-side: main and
develop advance only by merge commits and never by force, release tags are
strict SemVer on main and are never moved or deleted, and other tags with the
prefix are refused.

--dry-run prints what would change and changes nothing; -o json prints it
(on GitHub: the exact API requests) as JSON. --check exits 1 when the origin's
protection differs from the configuration, for CI.

` + exitCodesHelp,
		Example: `  canaryflow protect --dry-run
  canaryflow protect
  canaryflow protect --check          # in CI: exit 1 on drift
  canaryflow protect --dry-run -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pf.output != "text" && pf.output != "json" {
				return usageErrorf("-o %q: want text or json", pf.output)
			}
			if pf.check && pf.dryRun {
				return usageErrorf("--check and --dry-run: give one (--check never changes anything)")
			}
			dir, err := workDir(cmd)
			if err != nil {
				return err
			}
			repo, err := git.Open(cmd.Context(), dir)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd, repo.Dir)
			if err != nil {
				return err
			}
			url, err := remoteURL(cmd.Context(), repo, cfg.Release.Remote)
			if err != nil {
				return &flow.Error{Msg: fmt.Sprintf("remote %q has no URL", cfg.Release.Remote),
					Hint: "add it with `git remote add " + cfg.Release.Remote + " URL`"}
			}
			if origin, ok := protect.LocalOrigin(url, repo.Dir); ok {
				return protectLocal(cmd, cfg, origin, pf)
			}
			if owner, name, ok := protect.GitHubRepo(url); ok {
				return protectGitHub(cmd, cfg, owner, name, pf)
			}
			return &flow.Error{Msg: fmt.Sprintf("remote %s (%s) is neither a local repository nor on GitHub", cfg.Release.Remote, url),
				Hint: "protect main, develop and the v* tags with your host's own settings"}
		},
	}
	cmd.Flags().BoolVar(&pf.dryRun, "dry-run", false, "print what would change; change nothing")
	cmd.Flags().BoolVar(&pf.check, "check", false, "exit 1 when the origin's protection differs from the configuration")
	cmd.Flags().StringVarP(&pf.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// protectRules are the rules the release section asks for.
func protectRules(cfg *config.Config) protect.Rules {
	return protect.Rules{Main: cfg.Release.MainBranch, Develop: cfg.Release.DevelopBranch, TagPrefix: cfg.Release.TagPrefix}
}

func protectLocal(cmd *cobra.Command, cfg *config.Config, origin string, pf protectFlags) error {
	self, err := selfPath()
	if err != nil {
		return err
	}
	plan, err := protect.PlanLocal(cmd.Context(), origin, protectRules(cfg), []string{self})
	if err != nil {
		if errors.Is(err, protect.ErrForeignHook) {
			return &flow.Error{Msg: err.Error()}
		}
		return err
	}
	out := cmd.OutOrStdout()
	switch {
	case pf.check:
		if pf.output == "json" {
			if err := writeJSON(out, plan); err != nil {
				return err
			}
		}
		if !plan.UpToDate {
			what := "has no canaryflow pre-receive hook"
			if plan.Current != "" {
				what = "has a pre-receive hook that differs from the configuration"
			}
			return &flow.Error{Msg: fmt.Sprintf("origin %s %s", origin, what), Hint: "run `canaryflow protect`"}
		}
		if pf.output == "text" {
			fmt.Fprintf(out, "ok: origin %s is protected as configured (%s)\n", origin, plan.Hook)
		}
		return nil
	case pf.dryRun:
		if pf.output == "json" {
			return writeJSON(out, plan)
		}
		if plan.UpToDate {
			fmt.Fprintf(out, "origin %s is already protected: nothing would change\n", origin)
			return nil
		}
		fmt.Fprintf(out, "would write %s:\n", plan.Hook)
		for _, l := range strings.SplitAfter(strings.TrimSuffix(plan.Script, "\n"), "\n") {
			fmt.Fprintf(out, "+ %s", l)
		}
		fmt.Fprintln(out)
		if plan.Current != "" {
			fmt.Fprintln(out, "replacing:")
			for _, l := range strings.SplitAfter(strings.TrimSuffix(plan.Current, "\n"), "\n") {
				fmt.Fprintf(out, "- %s", l)
			}
			fmt.Fprintln(out)
		}
		return nil
	}
	changed := !plan.UpToDate
	if err := plan.Apply(); err != nil {
		return err
	}
	if pf.output == "json" {
		return writeJSON(out, struct {
			*protect.LocalPlan
			Changed bool `json:"changed"`
		}{plan, changed})
	}
	if !changed {
		fmt.Fprintf(out, "origin %s is already protected: nothing changed\n", origin)
		return nil
	}
	r := protectRules(cfg)
	fmt.Fprintf(out, "Protected origin %s with a pre-receive hook (%s):\n", origin, plan.Hook)
	fmt.Fprintf(out, "  - %s and %s advance only by merge commits, never by force, and are never deleted\n", r.Main, r.Develop)
	fmt.Fprintf(out, "  - tags %s* must be %sX.Y.Z (strict SemVer) on %s, and are never moved or deleted\n", r.TagPrefix, r.TagPrefix, r.Main)
	return nil
}

// selfPath is the absolute path of the running canaryflow, as the hook
// must call it: the name it was started by, found as the shell found it,
// else the executable the kernel reports.
func selfPath() (string, error) {
	if testing.Testing() && (len(os.Args) == 0 || filepath.Base(os.Args[0]) != "canaryflow") {
		// A test binary run by its own name would run its tests as the hook.
		return "", errors.New("a test binary cannot be installed as the origin's hook (run it as canaryflow)")
	}
	if len(os.Args) > 0 && os.Args[0] != "" {
		p := os.Args[0]
		if !strings.Contains(p, string(filepath.Separator)) {
			if lp, err := exec.LookPath(p); err == nil {
				p = lp
			}
		}
		if abs, err := filepath.Abs(p); err == nil {
			if st, err := os.Stat(abs); err == nil && st.Mode().IsRegular() {
				return abs, nil
			}
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find canaryflow's own path for the hook: %w", err)
	}
	return exe, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
