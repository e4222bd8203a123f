package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/flow"
)

func newVersionCommand() *cobra.Command {
	var tool bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "SemVer versions: the current release, the next one, and a consistency check",
		Long: `The version subcommands speak of the repository's release versions. The
version of canaryflow itself is ` + "`canaryflow --version`" + ` (or ` + "`canaryflow version --tool`" + `):
its release, the commit it was built from and the Go release that built it.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !tool {
				return cmd.Help()
			}
			fmt.Fprintf(cmd.OutOrStdout(), "canaryflow %s\n", toolVersion())
			return nil
		},
		Example: `  canaryflow version --tool           # canaryflow's own version, commit and Go release
  canaryflow version current
  canaryflow version next            # from Conventional Commits since the latest tag
  canaryflow version next --pre rc   # 1.3.0-rc.1, then rc.2, …
  canaryflow version check           # version files equal the tag at HEAD`,
	}
	cmd.Flags().BoolVar(&tool, "tool", false, "print canaryflow's own version, commit and Go release (as canaryflow --version)")
	cmd.AddCommand(newVersionCurrentCommand(), newVersionNextCommand(), newVersionCheckCommand(), newVersionNotesCommand())
	return cmd
}

func newVersionCurrentCommand() *cobra.Command {
	var tag bool
	cmd := &cobra.Command{
		Use: "current",
		Example: `  canaryflow version current         # 1.2.3
  canaryflow version current --tag   # v1.2.3`,
		Short: "Print the latest SemVer tag reachable from main (0.0.0 when there is none)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, _, err := openFlow(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			v, err := f.Current(cmd.Context())
			if err != nil {
				return err
			}
			s := "0.0.0"
			if v == nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "no release tag on main yet")
			} else {
				s = v.String()
			}
			if tag {
				cfg, err := loadConfigForCmd(cmd)
				if err != nil {
					return err
				}
				s = cfg.Release.VersionTag(s)
			}
			fmt.Fprintln(cmd.OutOrStdout(), s)
			return nil
		},
	}
	cmd.Flags().BoolVar(&tag, "tag", false, "print the tag (with its prefix) instead of the version")
	return cmd
}

func newVersionNextCommand() *cobra.Command {
	var pre string
	var explain bool
	cmd := &cobra.Command{
		Use: "next",
		Example: `  canaryflow version next
  canaryflow version next --explain
  canaryflow version next --pre rc   # 1.3.0-rc.1, then rc.2, …`,
		Short: "Print the next version from the Conventional Commits since the latest tag",
		Long: `Reads the commits on HEAD since the latest release tag (merge commits
excluded): "!" after the type or a BREAKING CHANGE: footer bumps major, feat
bumps minor, anything else bumps patch. With --pre ID the result is the next
pre-release of that version: X.Y.Z-ID.1, then ID.2 if that tag exists.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, _, err := openFlow(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			v, b, err := f.Next(cmd.Context(), pre)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), v.String())
			if explain {
				fmt.Fprintf(cmd.ErrOrStderr(), "bump: %s\n", b)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pre, "pre", "", "pre-release identifier, e.g. rc, beta")
	cmd.Flags().BoolVar(&explain, "explain", false, "also print the bump that was chosen (on stderr)")
	return cmd
}

func newVersionCheckCommand() *cobra.Command {
	var out output
	var asJSON bool
	cmd := &cobra.Command{
		Use: "check [VERSION]",
		Example: `  canaryflow version check           # version files equal the tag at HEAD
  canaryflow version check 1.2.3
  canaryflow version check -o json`,
		Short: "Check every version file equals the tag at HEAD (or the release/hotfix branch version)",
		Long: `Checks the guide's version-consistency rule: every version file that exists
(default package.json "version" and VERSION) must say the same version as the
release tag at HEAD, or, on a release or hotfix branch, the version in the
branch name, or the VERSION given. Exits 1 and lists what differs otherwise.
The pipeline runs this before it builds. With -o json or yaml the result is
printed as a document in either case.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				out.format = "json" // --json, kept as an alias of -o json for one release
				fmt.Fprintln(cmd.ErrOrStderr(), "canaryflow: --json is deprecated: use -o json (--json goes in the next release)")
			}
			if err := out.check(); err != nil {
				return err
			}
			if err := flow.CheckVersionArg(firstArg(args)); err != nil {
				return err
			}
			f, _, err := openFlow(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			res, err := f.Check(cmd.Context(), firstArg(args))
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if out.structured() {
				if err := out.print(w, checkDoc(res), nil); err != nil {
					return err
				}
			} else if len(res.Bad) == 0 {
				if len(res.Files) == 0 {
					fmt.Fprintf(w, "no version files found; nothing to check against %s (%s)\n", res.Want, res.Source)
				} else {
					fmt.Fprintf(w, "ok: %s say %s (%s)\n", joinComma(res.Files), res.Want, res.Source)
				}
			}
			if len(res.Bad) == 0 {
				return nil
			}
			msg := fmt.Sprintf("version files disagree with %s (%s):", res.Want, res.Source)
			for _, m := range res.Bad {
				if m.Err != nil {
					msg += fmt.Sprintf("\n    %s: %v", m.File, m.Err)
				} else {
					msg += fmt.Sprintf("\n    %s says %s", m.File, m.Got)
				}
			}
			return &flow.Error{Msg: msg, Hint: "set them to " + res.Want + " and commit, or tag the right version"}
		},
	}
	out.register(cmd, false)
	// Not cobra's MarkDeprecated: its note goes to stdout, into the JSON.
	cmd.Flags().BoolVar(&asJSON, "json", false, "deprecated: use -o json (--json goes in the next release)")
	return cmd
}

// checkDocument is `version check -o json`.
type checkDocument struct {
	Want       string          `json:"want"`
	Source     string          `json:"source"`
	Files      []string        `json:"files"`
	OK         bool            `json:"ok"`
	Mismatches []checkMismatch `json:"mismatches"`
}

type checkMismatch struct {
	File  string `json:"file"`
	Got   string `json:"got,omitempty"`
	Error string `json:"error,omitempty"`
}

func checkDoc(res *flow.CheckResult) checkDocument {
	doc := checkDocument{Want: res.Want, Source: res.Source, Files: append([]string{}, res.Files...),
		OK: len(res.Bad) == 0, Mismatches: []checkMismatch{}}
	for _, m := range res.Bad {
		b := checkMismatch{File: m.File, Got: m.Got}
		if m.Err != nil {
			b.Error = m.Err.Error()
		}
		doc.Mismatches = append(doc.Mismatches, b)
	}
	return doc
}

func loadConfigForCmd(cmd *cobra.Command) (*config.Config, error) {
	_, repo, err := openFlow(cmd.Context(), cmd)
	if err != nil {
		return nil, err
	}
	return loadConfig(cmd, repo.Dir)
}
