package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// ErrNoNetwork is returned when no subnets are given and the region has
// no default VPC.
var ErrNoNetwork = errors.New("no network: the region has no default VPC")

// networkResource discovers the VPC and subnets: the given subnets' VPC,
// or the default VPC and its subnets. It creates nothing.
func (p *Provisioner) networkResource() resource {
	c, s := p.c.EC2, p.b.spec
	name := "default VPC"
	if len(s.Subnets) > 0 {
		name = strings.Join(s.Subnets, ",")
	}
	return resource{
		kind: "network", name: name,
		read: func(ctx context.Context) (state, error) {
			l := &p.b.live
			if len(s.Subnets) > 0 {
				out, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: s.Subnets})
				if err != nil {
					return state{}, fmt.Errorf("describe subnets %v: %w", s.Subnets, err)
				}
				l.Subnets = s.Subnets
				l.VPC = aws.ToString(out.Subnets[0].VpcId)
				return state{exists: true}, nil
			}
			vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
			if err != nil {
				return state{}, fmt.Errorf("find the default VPC: %w", err)
			}
			if len(vpcs.Vpcs) == 0 {
				return state{}, fmt.Errorf("%w in %s; give aws.subnets (two or more, in different Availability Zones)", ErrNoNetwork, s.Region)
			}
			l.VPC = aws.ToString(vpcs.Vpcs[0].VpcId)
			subs, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
				{Name: aws.String("vpc-id"), Values: []string{l.VPC}}, {Name: aws.String("default-for-az"), Values: []string{"true"}}}})
			if err != nil {
				return state{}, fmt.Errorf("list the default VPC's subnets: %w", err)
			}
			l.Subnets = nil
			for _, sn := range subs.Subnets {
				l.Subnets = append(l.Subnets, aws.ToString(sn.SubnetId))
			}
			slices.Sort(l.Subnets)
			if len(l.Subnets) < 2 {
				return state{}, fmt.Errorf("%w with subnets in two Availability Zones; give aws.subnets", ErrNoNetwork)
			}
			return state{exists: true}, nil
		},
	}
}

// securityGroupResource creates the ALB's (albIngress: the production port
// open to the internet, the test port only to aws.test_listener_cidrs) or
// the tasks' (container port open to the ALB's group) security group. The
// ALB's ingress is brought back to albIngress by apply when it differs.
func (p *Provisioner) securityGroupResource(forALB bool) resource {
	c, s, n := p.c.EC2, p.b.spec, p.b.names
	name, desc := n.TaskSecurityGroup, "canaryflow: "+s.Service+" tasks, reachable from its load balancer"
	if forALB {
		name, desc = n.ALBSecurityGroup, "canaryflow: "+s.Service+" load balancer, production and test listeners"
	}
	ports := func() []int32 { return []int32{int32(s.Port)} } // the tasks' group
	record := func(id string) {
		if forALB {
			p.b.live.ALBSecurityGroups = []string{id}
		} else {
			p.b.live.TaskSecurityGroups = []string{id}
		}
	}
	var live []ec2types.IpPermission // the ALB group's ingress, as read
	wantALB := func() []ec2types.IpPermission { return p.b.albIngress().IpPermissions }
	desired := func() string {
		if forALB {
			return ingressFingerprint(ingressRules(wantALB()))
		}
		var parts []string
		for _, port := range ports() {
			parts = append(parts, strconv.Itoa(int(port)))
		}
		slices.Sort(parts)
		return fingerprint("ingress", strings.Join(parts, ","))
	}
	var update func(ctx context.Context) error // the tasks' group is not changed in place
	if forALB {
		update = func(ctx context.Context) error {
			// Revoke what should not be open (such as a test port open to
			// 0.0.0.0/0 from before test_listener_cidrs), then open what
			// is missing; rules already right are not touched.
			want, have := ingressRules(wantALB()), ingressRules(live)
			id := aws.String(p.b.live.ALBSecurityGroups[0])
			if extra := ingressPermissions(live, func(r ingressRule) bool { return !slices.Contains(want, r) }); len(extra) > 0 {
				if _, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: id, IpPermissions: extra}); err != nil {
					return err
				}
			}
			if missing := ingressPermissions(wantALB(), func(r ingressRule) bool { return !slices.Contains(have, r) }); len(missing) > 0 {
				if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: id, IpPermissions: missing}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return resource{
		kind: "security group", name: name,
		read: func(ctx context.Context) (state, error) {
			out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
				{Name: aws.String("group-name"), Values: []string{name}}, {Name: aws.String("vpc-id"), Values: []string{p.b.live.VPC}}}})
			if err != nil {
				return state{}, err
			}
			if len(out.SecurityGroups) == 0 {
				return state{}, nil
			}
			g := out.SecurityGroups[0]
			record(aws.ToString(g.GroupId))
			if forALB {
				live = g.IpPermissions
				return state{exists: true, managed: ec2Managed(g.Tags), current: ingressFingerprint(ingressRules(live))}, nil
			}
			var parts []string
			for _, perm := range g.IpPermissions {
				parts = append(parts, strconv.Itoa(int(aws.ToInt32(perm.FromPort))))
			}
			slices.Sort(parts)
			return state{exists: true, managed: ec2Managed(g.Tags), current: fingerprint("ingress", strings.Join(parts, ","))}, nil
		},
		desired: desired,
		create: func(ctx context.Context) error {
			out, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(desc), VpcId: aws.String(p.b.live.VPC),
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{
					{Key: aws.String(TagManagedBy), Value: aws.String("canaryflow")}, {Key: aws.String(TagService), Value: aws.String(s.Service)}, {Key: aws.String("Name"), Value: aws.String(name)}}}}})
			if err != nil {
				return err
			}
			id := aws.ToString(out.GroupId)
			record(id)
			if forALB {
				_, err = c.AuthorizeSecurityGroupIngress(ctx, p.b.albIngress())
				return err
			}
			var perms []ec2types.IpPermission
			for _, port := range ports() {
				perms = append(perms, ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
					UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(p.b.live.ALBSecurityGroups[0]), Description: aws.String("from the load balancer")}}})
			}
			_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: perms})
			return err
		},
		update: update,
		remove: func(ctx context.Context) error {
			id := p.b.live.TaskSecurityGroups
			if forALB {
				id = p.b.live.ALBSecurityGroups
			}
			_, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id[0])})
			return err
		},
	}
}

func ec2Managed(tags []ec2types.Tag) bool {
	return slices.ContainsFunc(tags, func(t ec2types.Tag) bool { return aws.ToString(t.Key) == TagManagedBy })
}

func (p *Provisioner) elbManaged(ctx context.Context, arn string) (bool, error) {
	out, err := p.c.ELB.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		return false, err
	}
	for _, d := range out.TagDescriptions {
		for _, t := range d.Tags {
			if aws.ToString(t.Key) == TagManagedBy {
				return true, nil
			}
		}
	}
	return false, nil
}

// targetGroupResource is the blue (i=0) or green (i=1) target group.
func (p *Provisioner) targetGroupResource(i int) resource {
	c := p.c.ELB
	in := func() *elbv2.CreateTargetGroupInput { return p.b.targetGroups()[i] }
	name := aws.ToString(in().Name)
	record := func(arn string) {
		if i == 0 {
			p.b.live.BlueTargetGroupARN = arn
		} else {
			p.b.live.GreenTargetGroupARN = arn
		}
	}
	fp := func(path string, interval, timeout, healthy, unhealthy, port int32, matcher string) string {
		return fingerprint("health_check.path", path, "health_check.interval", strconv.Itoa(int(interval)), "health_check.timeout", strconv.Itoa(int(timeout)),
			"health_check.healthy", strconv.Itoa(int(healthy)), "health_check.unhealthy", strconv.Itoa(int(unhealthy)), "port", strconv.Itoa(int(port)), "matcher", matcher)
	}
	return resource{
		kind: "target group", name: name,
		read: func(ctx context.Context) (state, error) {
			out, err := c.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{name}})
			if isCode(err, "TargetGroupNotFound") {
				return state{}, nil
			}
			if err != nil {
				return state{}, err
			}
			tg := out.TargetGroups[0]
			record(aws.ToString(tg.TargetGroupArn))
			managed, err := p.elbManaged(ctx, aws.ToString(tg.TargetGroupArn))
			if err != nil {
				return state{}, err
			}
			m := ""
			if tg.Matcher != nil {
				m = aws.ToString(tg.Matcher.HttpCode)
			}
			return state{exists: true, managed: managed, current: fp(aws.ToString(tg.HealthCheckPath), aws.ToInt32(tg.HealthCheckIntervalSeconds),
				aws.ToInt32(tg.HealthCheckTimeoutSeconds), aws.ToInt32(tg.HealthyThresholdCount), aws.ToInt32(tg.UnhealthyThresholdCount), aws.ToInt32(tg.Port), m)}, nil
		},
		desired: func() string {
			d := in()
			return fp(aws.ToString(d.HealthCheckPath), aws.ToInt32(d.HealthCheckIntervalSeconds), aws.ToInt32(d.HealthCheckTimeoutSeconds),
				aws.ToInt32(d.HealthyThresholdCount), aws.ToInt32(d.UnhealthyThresholdCount), aws.ToInt32(d.Port), aws.ToString(d.Matcher.HttpCode))
		},
		create: func(ctx context.Context) error {
			out, err := c.CreateTargetGroup(ctx, in())
			if err != nil {
				return err
			}
			record(aws.ToString(out.TargetGroups[0].TargetGroupArn))
			return nil
		},
		update: func(ctx context.Context) error {
			d := in()
			_, err := c.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(p.targetGroupARN(i)),
				HealthCheckPath: d.HealthCheckPath, HealthCheckIntervalSeconds: d.HealthCheckIntervalSeconds, HealthCheckTimeoutSeconds: d.HealthCheckTimeoutSeconds,
				HealthyThresholdCount: d.HealthyThresholdCount, UnhealthyThresholdCount: d.UnhealthyThresholdCount, Matcher: d.Matcher})
			return err
		},
		remove: func(ctx context.Context) error {
			_, err := c.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(p.targetGroupARN(i))})
			return err
		},
	}
}

func (p *Provisioner) targetGroupARN(i int) string {
	if i == 0 {
		return p.b.live.BlueTargetGroupARN
	}
	return p.b.live.GreenTargetGroupARN
}

// loadBalancerResource is the internet-facing ALB.
func (p *Provisioner) loadBalancerResource() resource {
	c, n, s := p.c.ELB, p.b.names, p.b.spec
	return resource{
		kind: "load balancer", name: n.LoadBalancer,
		read: func(ctx context.Context) (state, error) {
			out, err := c.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{n.LoadBalancer}})
			if isCode(err, "LoadBalancerNotFound") {
				return state{}, nil
			}
			if err != nil {
				return state{}, err
			}
			lb := out.LoadBalancers[0]
			p.b.live.LoadBalancerARN = aws.ToString(lb.LoadBalancerArn)
			managed, err := p.elbManaged(ctx, p.b.live.LoadBalancerARN)
			return state{exists: true, managed: managed, current: fingerprint("scheme", string(lb.Scheme))}, err
		},
		desired: func() string { return fingerprint("scheme", string(elbtypes.LoadBalancerSchemeEnumInternetFacing)) },
		create: func(ctx context.Context) error {
			sgs := s.SecurityGroups
			if len(sgs) == 0 {
				sgs = p.b.live.ALBSecurityGroups
			}
			out, err := c.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(n.LoadBalancer), Subnets: p.b.live.Subnets, SecurityGroups: sgs,
				Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, Type: elbtypes.LoadBalancerTypeEnumApplication, Tags: p.b.elbTags()})
			if err != nil {
				return err
			}
			p.b.live.LoadBalancerARN = aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
			return nil
		},
		remove: func(ctx context.Context) error {
			_, err := c.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(p.b.live.LoadBalancerARN)})
			return err
		},
	}
}

// listenerResource is the production (test=false) or test listener. Both
// start forwarding to blue; CodeDeploy (or ECS) moves them during a
// deployment, so apply never changes where they point.
func (p *Provisioner) listenerResource(test bool) resource {
	c, s := p.c.ELB, p.b.spec
	port, name := s.ProductionPort, "production"
	if test {
		port, name = s.TestPort, "test"
	}
	record := func(arn string) {
		if test {
			p.b.live.TestListenerARN = arn
		} else {
			p.b.live.ProductionListenerARN = arn
		}
	}
	arn := func() string {
		if test {
			return p.b.live.TestListenerARN
		}
		return p.b.live.ProductionListenerARN
	}
	return resource{
		kind: "listener", name: fmt.Sprintf("%s :%d", name, port),
		read: func(ctx context.Context) (state, error) {
			if p.b.live.LoadBalancerARN == "" {
				return state{}, nil
			}
			out, err := c.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(p.b.live.LoadBalancerARN)})
			if err != nil {
				return state{}, err
			}
			for _, l := range out.Listeners {
				if aws.ToInt32(l.Port) == int32(port) {
					record(aws.ToString(l.ListenerArn))
					return state{exists: true, managed: true}, nil // it lives and dies with the managed ALB
				}
			}
			return state{}, nil
		},
		create: func(ctx context.Context) error {
			out, err := c.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(p.b.live.LoadBalancerARN), Port: aws.Int32(int32(port)),
				Protocol: elbtypes.ProtocolEnumHttp, Tags: p.b.elbTags(),
				DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(p.b.live.BlueTargetGroupARN)}}})
			if err != nil {
				return err
			}
			record(aws.ToString(out.Listeners[0].ListenerArn))
			return nil
		},
		remove: func(ctx context.Context) error {
			_, err := c.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(arn())})
			return err
		},
	}
}

// listenerRuleResource is the rule ECS-native blue/green shifts: priority
// 1, every path, weighted between blue and green.
func (p *Provisioner) listenerRuleResource(test bool) resource {
	c := p.c.ELB
	name := "production"
	if test {
		name = "test"
	}
	listener := func() string {
		if test {
			return p.b.live.TestListenerARN
		}
		return p.b.live.ProductionListenerARN
	}
	record := func(arn string) {
		if test {
			p.b.live.TestRuleARN = arn
		} else {
			p.b.live.ProductionRuleARN = arn
		}
	}
	return resource{
		kind: "listener rule", name: name + " /*",
		read: func(ctx context.Context) (state, error) {
			if listener() == "" {
				return state{}, nil
			}
			out, err := c.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(listener())})
			if err != nil {
				return state{}, err
			}
			for _, r := range out.Rules {
				if aws.ToString(r.Priority) == "1" {
					record(aws.ToString(r.RuleArn))
					return state{exists: true, managed: true}, nil
				}
			}
			return state{}, nil
		},
		create: func(ctx context.Context) error {
			out, err := c.CreateRule(ctx, &elbv2.CreateRuleInput{ListenerArn: aws.String(listener()), Priority: aws.Int32(1), Tags: p.b.elbTags(),
				Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/*"}}}},
				Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
					{TargetGroupArn: aws.String(p.b.live.BlueTargetGroupARN), Weight: aws.Int32(100)},
					{TargetGroupArn: aws.String(p.b.live.GreenTargetGroupARN), Weight: aws.Int32(0)}}}}}})
			if err != nil {
				return err
			}
			record(aws.ToString(out.Rules[0].RuleArn))
			return nil
		},
		remove: func(ctx context.Context) error {
			arn := p.b.live.ProductionRuleARN
			if test {
				arn = p.b.live.TestRuleARN
			}
			_, err := c.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(arn)})
			return err
		},
	}
}
