package cli

import (
	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/flow"
)

func protectGitHub(cmd *cobra.Command, cfg *config.Config, owner, name string, pf protectFlags) error {
	return &flow.Error{Msg: "GitHub protection: not built yet"}
}
