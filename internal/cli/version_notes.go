package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newVersionNotesCommand() *cobra.Command {
	var heading bool
	cmd := &cobra.Command{
		Use:   "notes [TAG]",
		Short: "Print one release's notes in Markdown, from its Conventional Commits",
		Long: `Prints the notes of one release: its commits since the previous release tag,
merges and version bumps left out, in the sections of CHANGELOG.md (Breaking
changes, Features, Fixes, Other; a commit's scope in bold, its short hash).
Commits that are not Conventional are listed under Other, never dropped.

Without TAG: on a release or hotfix branch, that version's notes so far (the
body of its pull request); elsewhere, the latest release's. The output is
Markdown for a pull request, a GitHub Release or a pipeline execution summary.`,
		Example: `  canaryflow version notes            # the latest release, or the release branch's
  canaryflow version notes v1.2.3
  canaryflow version notes --heading  # with the "## [1.2.3] - date" line of CHANGELOG.md`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tag := firstArg(args); len(tag) > 256 {
				return usageErrorf("TAG is longer than 256 characters")
			}
			f, _, err := openFlow(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			n, err := f.ReleaseNotes(cmd.Context(), firstArg(args))
			if err != nil {
				return err
			}
			if heading {
				fmt.Fprint(cmd.OutOrStdout(), n.Section())
				return nil
			}
			fmt.Fprint(cmd.OutOrStdout(), n.Markdown())
			return nil
		},
	}
	cmd.Flags().BoolVar(&heading, "heading", false, "start with the version's CHANGELOG.md heading")
	return cmd
}
