package cli

import (
	"github.com/spf13/cobra"
)

// outputFormats are the values of every command's -o/--output flag.
var outputFormats = []string{"text", "json", "yaml"}

// completeOutputFlags lets shell completion offer the output formats for
// every -o/--output flag in the tree.
func completeOutputFlags(c *cobra.Command) {
	if c.LocalFlags().Lookup("output") != nil {
		// A flag registered twice (a persistent one seen from a child) is
		// refused by cobra; the first registration serves every command.
		_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats, cobra.ShellCompDirectiveNoFileComp))
	}
	for _, sub := range c.Commands() {
		completeOutputFlags(sub)
	}
}
