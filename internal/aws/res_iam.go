package aws

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// canonicalPolicy normalizes a policy document (as IAM returns it: JSON,
// possibly URL-encoded) so equal policies compare equal.
func canonicalPolicy(doc string) string {
	if d, err := url.QueryUnescape(doc); err == nil {
		doc = d
	}
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		return doc
	}
	b, _ := json.Marshal(p)
	return string(b)
}

func (p *Provisioner) roleResource(r Role) resource {
	c := p.c.IAM
	trust := policyJSON(r.Trust)
	policy := ""
	if r.Policy != nil {
		policy = policyJSON(r.Policy)
	}
	desired := func() string {
		return fingerprint("trust", canonicalPolicy(trust), "policy", canonicalPolicy(policy))
	}
	return resource{
		kind: "iam role", name: r.Name,
		read: func(ctx context.Context) (state, error) {
			out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(r.Name)})
			if isCode(err, "NoSuchEntity") {
				return state{}, nil
			}
			if err != nil {
				return state{}, err
			}
			cur := ""
			pol, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(r.Name), PolicyName: aws.String(PolicyName)})
			switch {
			case err == nil:
				cur = canonicalPolicy(aws.ToString(pol.PolicyDocument))
			case !isCode(err, "NoSuchEntity"):
				return state{}, err
			}
			return state{exists: true, managed: iamManaged(out.Role.Tags),
				current: fingerprint("trust", canonicalPolicy(aws.ToString(out.Role.AssumeRolePolicyDocument)), "policy", cur)}, nil
		},
		desired: desired,
		create: func(ctx context.Context) error {
			_, err := c.CreateRole(ctx, &iam.CreateRoleInput{
				RoleName: aws.String(r.Name), AssumeRolePolicyDocument: aws.String(trust), Description: aws.String(r.Purpose),
				Tags: []iamtypes.Tag{{Key: aws.String(TagManagedBy), Value: aws.String("canaryflow")}, {Key: aws.String(TagService), Value: aws.String(p.b.spec.Service)}},
			})
			if err != nil {
				return err
			}
			return p.putRolePolicy(ctx, r.Name, policy)
		},
		update: func(ctx context.Context) error {
			if _, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(r.Name), PolicyDocument: aws.String(trust)}); err != nil {
				return err
			}
			return p.putRolePolicy(ctx, r.Name, policy)
		},
		remove: func(ctx context.Context) error {
			_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(r.Name), PolicyName: aws.String(PolicyName)})
			if err != nil && !isCode(err, "NoSuchEntity") {
				return err
			}
			_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(r.Name)})
			return err
		},
	}
}

func (p *Provisioner) putRolePolicy(ctx context.Context, role, policy string) error {
	if policy == "" {
		_, err := p.c.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(PolicyName)})
		if isCode(err, "NoSuchEntity") {
			return nil
		}
		return err
	}
	_, err := p.c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(PolicyName), PolicyDocument: aws.String(policy)})
	return err
}

func iamManaged(tags []iamtypes.Tag) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == TagManagedBy {
			return true
		}
	}
	return false
}
