package cli

import (
	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/protect"
)

func newHookCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "hook",
		Short:  "Server-side git hooks that `canaryflow protect` installs",
		Hidden: true,
	}
	var rules protect.Rules
	pre := &cobra.Command{
		Use:   "pre-receive",
		Short: "Check a push against the protection rules (run by git in the origin)",
		Long: `Reads git's pre-receive input ("OLD NEW REF" lines) and refuses the whole push
when any ref breaks a rule: main and develop advance only by merge commits,
never by force, and are never deleted; tags with the tag prefix are strict
SemVer on main and are never moved or deleted. Each refusal names the rule
and what to do instead. git runs it in the receiving repository.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := rules.Validate(); err != nil {
				return usageErrorf("%v", err)
			}
			return protect.PreReceive(cmd.Context(), ".", rules, cmd.InOrStdin(), cmd.ErrOrStderr())
		},
	}
	pre.Flags().StringVar(&rules.Main, "main", "main", "the main branch")
	pre.Flags().StringVar(&rules.Develop, "develop", "develop", "the develop branch")
	pre.Flags().StringVar(&rules.TagPrefix, "tag-prefix", "v", "the release tag prefix")
	cmd.AddCommand(pre)
	return cmd
}
