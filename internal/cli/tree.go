package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// The rules every command of the tree keeps, wherever it was added: usage
// errors exit 2 with the closest match, help and completion included.

// newHelpCommand is `canaryflow help [command]`: cobra's, except that a
// command that does not exist is a usage error (exit 2) with the closest
// match, not the root's help and 0.
func newHelpCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:     "help [command]",
		Short:   "Help about any command",
		Example: "  canaryflow help flow release finish",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, _ := root.Find(args)
			var out []cobra.Completion
			for _, s := range cmd.Commands() {
				if s.IsAvailableCommand() && strings.HasPrefix(s.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(s.Name(), s.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil {
				return &usageError{err: err}
			}
			if err := unknownSubcommand(cmd, rest); err != nil {
				return err
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}

// addCompletionCommand adds cobra's completion command now rather than when
// the tree runs, so it is held to the same rules (an Example on every leaf,
// unknown subcommands exit 2) as the others.
func addCompletionCommand(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		for _, sh := range c.Commands() {
			switch sh.Name() {
			case "bash":
				sh.Example = "  source <(canaryflow completion bash)\n  canaryflow completion bash > /etc/bash_completion.d/canaryflow"
			case "zsh":
				sh.Example = "  canaryflow completion zsh > \"${fpath[1]}/_canaryflow\""
			case "fish":
				sh.Example = "  canaryflow completion fish > ~/.config/fish/completions/canaryflow.fish"
			case "powershell":
				sh.Example = "  canaryflow completion powershell | Out-String | Invoke-Expression"
			}
		}
	}
}

// strictCommands makes the whole tree keep the exit-code contract, for the
// commands of today and those added later: a group command given an unknown
// subcommand, at any depth, exits 2 with cobra's closest matches (a bare
// group prints its help); every wrong argument count and every flag-group or
// required-flag error is a usage error.
func strictCommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strictCommands(sub)
	}
	switch {
	case c.HasSubCommands():
		own := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if own == nil {
				return unknownSubcommand(cmd, args)
			}
			if err := own(cmd, args); err != nil {
				if uerr := unknownSubcommand(cmd, args); uerr != nil {
					return uerr
				}
				return &usageError{err: err}
			}
			return nil
		}
		if !c.Runnable() {
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
			if c.Annotations == nil {
				c.Annotations = map[string]string{}
			}
			c.Annotations[helpGroup] = "true"
		}
	case c.Args != nil:
		c.Args = usageArgs(c.Args)
	}
	preE, pre := c.PreRunE, c.PreRun
	c.PreRun = nil
	c.PreRunE = func(cmd *cobra.Command, args []string) error {
		if err := cmd.ValidateRequiredFlags(); err != nil {
			return &usageError{err: err}
		}
		if err := cmd.ValidateFlagGroups(); err != nil {
			return &usageError{err: err}
		}
		switch {
		case preE != nil:
			return preE(cmd, args)
		case pre != nil:
			pre(cmd, args)
		}
		return nil
	}
}

// helpGroup annotates a group command whose own run is to print its help.
const helpGroup = "canaryflow/help-group"

// unknownSubcommand refuses any argument to a group command, naming the
// closest subcommands.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	msg += fmt.Sprintf("\n\nRun '%s --help' for its commands.", cmd.CommandPath())
	return usageErrorf("%s", msg)
}
