package aws

import (
	"context"
	"fmt"
)

// Discover fills the spec's region and account from the clients when the
// configuration does not name them: the region the SDK resolved and the
// account the credentials belong to.
func Discover(ctx context.Context, c *Clients, s *Spec) error {
	if s.Region == "" {
		s.Region = c.Region()
	}
	if s.Region == "" {
		return fmt.Errorf("%w: no region: set aws.region in canaryflow.yaml, AWS_REGION, or a profile region", ErrInvalidSpec)
	}
	if s.Account == "" {
		acct, err := c.Account(ctx)
		if err != nil {
			return fmt.Errorf("discover the account (set aws.account to skip): %w", err)
		}
		s.Account = acct
	}
	return nil
}
