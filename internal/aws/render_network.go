package aws

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// anywhere is the production listener's source: it is the service.
const anywhere = "0.0.0.0/0"

// albIngress is the ingress of the load balancer's security group, which
// canaryflow creates when aws.security_groups is empty: the production
// port from anywhere, the test port only from TestListenerCIDRs. With no
// CIDRs the test port gets no rule at all, so a release under test (the
// test listener routes to green before production does) is not reachable
// from the internet. Render writes it; apply sends the same request.
func (b *blueprint) albIngress() *ec2.AuthorizeSecurityGroupIngressInput {
	s := b.spec
	in := &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(b.ph.orList(b.live.ALBSecurityGroups, "ALB_SECURITY_GROUP_ID")[0])}
	in.IpPermissions = append(in.IpPermissions, ec2types.IpPermission{IpProtocol: aws.String("tcp"),
		FromPort: aws.Int32(int32(s.ProductionPort)), ToPort: aws.Int32(int32(s.ProductionPort)),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String(anywhere), Description: aws.String("production listener")}}})
	if len(s.TestListenerCIDRs) == 0 {
		return in
	}
	test := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(int32(s.TestPort)), ToPort: aws.Int32(int32(s.TestPort))}
	for _, c := range s.TestListenerCIDRs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is6() {
			test.Ipv6Ranges = append(test.Ipv6Ranges, ec2types.Ipv6Range{CidrIpv6: aws.String(c), Description: aws.String("test listener")})
		} else {
			test.IpRanges = append(test.IpRanges, ec2types.IpRange{CidrIp: aws.String(c), Description: aws.String("test listener")})
		}
	}
	in.IpPermissions = append(in.IpPermissions, test)
	return in
}

// ingressRule is one port open to one network: the unit apply compares
// and changes, so a rule that should not be there is revoked on its own.
type ingressRule struct {
	port int32
	cidr string
}

func (r ingressRule) String() string { return strconv.Itoa(int(r.port)) + " " + r.cidr }

// ingressRules flattens IP permissions into rules, sorted; rules naming
// another security group are left out (the ALB's group has none).
func ingressRules(perms []ec2types.IpPermission) []ingressRule {
	var out []ingressRule
	for _, p := range perms {
		port := aws.ToInt32(p.FromPort)
		for _, r := range p.IpRanges {
			out = append(out, ingressRule{port, aws.ToString(r.CidrIp)})
		}
		for _, r := range p.Ipv6Ranges {
			out = append(out, ingressRule{port, aws.ToString(r.CidrIpv6)})
		}
	}
	slices.SortFunc(out, func(a, b ingressRule) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(out)
}

// ingressFingerprint is what plan compares for the ALB's group.
func ingressFingerprint(rules []ingressRule) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = r.String()
	}
	return fingerprint("ingress", strings.Join(parts, ","))
}

// ingressPermissions keeps the rules of perms that satisfy keep, one
// permission per rule, as Authorize/RevokeSecurityGroupIngress take them.
func ingressPermissions(perms []ec2types.IpPermission, keep func(ingressRule) bool) []ec2types.IpPermission {
	var out []ec2types.IpPermission
	for _, p := range perms {
		for _, r := range p.IpRanges {
			if keep(ingressRule{aws.ToInt32(p.FromPort), aws.ToString(r.CidrIp)}) {
				out = append(out, ec2types.IpPermission{IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort, IpRanges: []ec2types.IpRange{r}})
			}
		}
		for _, r := range p.Ipv6Ranges {
			if keep(ingressRule{aws.ToInt32(p.FromPort), aws.ToString(r.CidrIpv6)}) {
				out = append(out, ec2types.IpPermission{IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort, Ipv6Ranges: []ec2types.Ipv6Range{r}})
			}
		}
	}
	return out
}
