package cli

import "github.com/spf13/cobra"

func newFlowCommand() *cobra.Command { return &cobra.Command{Use: "flow", Short: "Gitflow branches (work in progress)"} }
