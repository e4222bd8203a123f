package cli

import (
	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/proxycmd"
)

// newProxyCommand mounts the proxy command, which lives in internal/proxycmd
// so that the canaryflow-proxy binary can link it without the rest of
// canaryflow. Here its serving form hands over to that binary when it is
// installed beside canaryflow.
func newProxyCommand() *cobra.Command {
	return proxycmd.NewCommand(proxycmd.Options{Use: "proxy", Handoff: true})
}
