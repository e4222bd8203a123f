package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// DiagnoseAccount checks the account: the deployed CodeDeploy role's
// policy against what an ECS blue/green deployment needs (the guide's
// Q3-Q5 failures, found before a deployment fails), and any resource that
// differs from the spec.
func DiagnoseAccount(ctx context.Context, c *Clients, s Spec) ([]Finding, error) {
	s = s.withDefaults()
	n := NamesFor(s)
	var out []Finding
	if s.Controller == ControllerCodeDeploy {
		pol, err := c.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(n.CodeDeployRole), PolicyName: aws.String(PolicyName)})
		switch {
		case isCode(err, "NoSuchEntity"):
			out = append(out, Finding{Check: CheckCodeDeployRole, File: "account", Problem: fmt.Sprintf("role %s has no %q policy", n.CodeDeployRole, PolicyName),
				Fix: "run `canaryflow aws apply`"})
		case err != nil:
			return nil, fmt.Errorf("get policy of role %s: %w", n.CodeDeployRole, err)
		default:
			p, perr := ParsePolicy([]byte(canonicalPolicy(aws.ToString(pol.PolicyDocument))))
			if perr != nil {
				return nil, perr
			}
			for _, nd := range Missing(p, n.CodeDeployNeeds()) {
				out = append(out, Finding{Check: CheckCodeDeployRole, File: "account: role " + n.CodeDeployRole,
					Problem: fmt.Sprintf("may not %s on %s: %s", nd.Action, nd.Resource, nd.Why), Fix: "run `canaryflow aws apply`, which writes the role's policy"})
			}
		}
	}
	p, err := NewProvisioner(c, s, ProvisionOptions{})
	if err != nil {
		return nil, err
	}
	plan, err := p.Plan(ctx)
	if err != nil {
		return nil, err
	}
	for _, it := range plan.Items {
		if it.Change != ChangeNone {
			out = append(out, Finding{Check: "drift", File: "account: " + it.Kind + " " + it.Name,
				Problem: fmt.Sprintf("would %s%s", it.Change, map[bool]string{true: " (" + it.Detail + ")", false: ""}[it.Detail != ""]),
				Fix:     "run `canaryflow aws plan`, then `canaryflow aws apply`"})
		}
	}
	return out, nil
}
