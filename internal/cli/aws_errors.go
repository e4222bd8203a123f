package cli

import (
	"errors"

	"github.com/spf13/cobra"

	awsbackend "github.com/canaryflow/canaryflow/internal/aws"
)

// explainAWSErrors makes every aws subcommand print the AWS errors a user
// meets first (no credentials, an expired session, access denied, a wrong
// region) as one line with the fix, in place of the SDK's error chain.
func explainAWSErrors(cmd *cobra.Command, f *awsFlags) {
	for _, c := range cmd.Commands() {
		explainAWSErrors(c, f)
	}
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			err := run(c, args)
			var ue *usageError
			if errors.As(err, &ue) {
				return err // already says what to fix, and exits 2
			}
			return awsbackend.Explain(err, f.profile)
		}
	}
}
