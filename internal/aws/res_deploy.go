package aws

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// alarmResource is one CloudWatch alarm on the green target group.
func (p *Provisioner) alarmResource(i int) resource {
	c := p.c.CloudWatch
	in := func() *cloudwatch.PutMetricAlarmInput { return p.b.alarms()[i] }
	name := aws.ToString(in().AlarmName)
	fp := func(threshold float64, periods, datapoints int32, dims string) string {
		return fingerprint("threshold", strconv.FormatFloat(threshold, 'g', -1, 64), "evaluation_periods", strconv.Itoa(int(periods)),
			"datapoints", strconv.Itoa(int(datapoints)), "target_group", dims)
	}
	put := func(ctx context.Context) error {
		_, err := c.PutMetricAlarm(ctx, in())
		return err
	}
	green := func() string { return p.b.live.GreenTargetGroupARN }
	return resource{
		kind: "cloudwatch alarm", name: name,
		read: func(ctx context.Context) (state, error) {
			out, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
			if err != nil {
				return state{}, err
			}
			if len(out.MetricAlarms) == 0 {
				return state{}, nil
			}
			a := out.MetricAlarms[0]
			tags, err := c.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: a.AlarmArn})
			if err != nil {
				return state{}, err
			}
			managed := false
			for _, t := range tags.Tags {
				managed = managed || aws.ToString(t.Key) == TagManagedBy
			}
			// Which target group the alarm watches, wherever its metric is.
			tg := ""
			for _, d := range a.Dimensions {
				if aws.ToString(d.Name) == "TargetGroup" {
					tg = aws.ToString(d.Value)
				}
			}
			for _, m := range a.Metrics {
				if m.MetricStat != nil && m.MetricStat.Metric != nil {
					for _, d := range m.MetricStat.Metric.Dimensions {
						if aws.ToString(d.Name) == "TargetGroup" {
							tg = aws.ToString(d.Value)
						}
					}
				}
			}
			return state{exists: true, managed: managed, current: fp(aws.ToFloat64(a.Threshold), aws.ToInt32(a.EvaluationPeriods), aws.ToInt32(a.DatapointsToAlarm), tg)}, nil
		},
		desired: func() string {
			d := in()
			return fp(aws.ToFloat64(d.Threshold), aws.ToInt32(d.EvaluationPeriods), aws.ToInt32(d.DatapointsToAlarm), arnSuffix(green(), "targetgroup/"))
		},
		create: put,
		update: put,
		remove: func(ctx context.Context) error {
			_, err := c.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{name}})
			return err
		},
	}
}

func (p *Provisioner) codeDeployManaged(ctx context.Context, arn string) (bool, error) {
	out, err := p.c.CodeDeploy.ListTagsForResource(ctx, &codedeploy.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(out.Tags, func(t cdtypes.Tag) bool { return aws.ToString(t.Key) == TagManagedBy }), nil
}

func (p *Provisioner) applicationResource() resource {
	c, n := p.c.CodeDeploy, p.b.names
	return resource{
		kind: "codedeploy application", name: n.Application,
		read: func(ctx context.Context) (state, error) {
			// ListApplications, not GetApplication: the names are all apply
			// needs, and it reads the same on every endpoint.
			found := false
			pages := codedeploy.NewListApplicationsPaginator(c, &codedeploy.ListApplicationsInput{})
			for pages.HasMorePages() && !found {
				page, err := pages.NextPage(ctx)
				if err != nil {
					return state{}, err
				}
				found = slices.Contains(page.Applications, n.Application)
			}
			if !found {
				return state{}, nil
			}
			managed, err := p.codeDeployManaged(ctx, n.ApplicationARN())
			return state{exists: true, managed: managed}, err
		},
		create: func(ctx context.Context) error {
			_, err := c.CreateApplication(ctx, p.b.application())
			return err
		},
		remove: func(ctx context.Context) error {
			_, err := c.DeleteApplication(ctx, &codedeploy.DeleteApplicationInput{ApplicationName: aws.String(n.Application)})
			return err
		},
	}
}

// deploymentConfigResource is the custom traffic routing, when the spec
// names no predefined configuration.
func (p *Provisioner) deploymentConfigResource() resource {
	c, n := p.c.CodeDeploy, p.b.names
	return resource{
		kind: "deployment config", name: n.DeploymentConfig,
		read: func(ctx context.Context) (state, error) {
			_, err := c.GetDeploymentConfig(ctx, &codedeploy.GetDeploymentConfigInput{DeploymentConfigName: aws.String(n.DeploymentConfig)})
			if isCode(err, "DeploymentConfigDoesNotExistException") {
				return state{}, nil
			}
			// The name encodes the routing, so an existing one is the right one.
			return state{exists: err == nil, managed: true}, err
		},
		create: func(ctx context.Context) error {
			_, err := c.CreateDeploymentConfig(ctx, p.b.deploymentConfig())
			return err
		},
		remove: func(ctx context.Context) error {
			_, err := c.DeleteDeploymentConfig(ctx, &codedeploy.DeleteDeploymentConfigInput{DeploymentConfigName: aws.String(n.DeploymentConfig)})
			return err
		},
	}
}

// groupFingerprint is the part of a deployment group apply manages.
func groupFingerprint(config, role string, alarms []string, rollback []string, wait int32, ready string, svc, cluster string, tgs []string, prod, test []string) string {
	slices.Sort(alarms)
	slices.Sort(rollback)
	return fingerprint("deployment_config", config, "service_role", role, "alarms", strings.Join(alarms, ","), "auto_rollback", strings.Join(rollback, ","),
		"termination_wait", strconv.Itoa(int(wait)), "ready", ready, "ecs_service", cluster+"/"+svc, "target_groups", strings.Join(tgs, ","),
		"listeners", strings.Join(prod, ",")+" "+strings.Join(test, ","))
}

func (p *Provisioner) deploymentGroupResource() resource {
	c, n := p.c.CodeDeploy, p.b.names
	fromInput := func(in *codedeploy.CreateDeploymentGroupInput) string {
		return groupFingerprint(aws.ToString(in.DeploymentConfigName), aws.ToString(in.ServiceRoleArn), alarmNames(in.AlarmConfiguration),
			rollbackEvents(in.AutoRollbackConfiguration), terminationWait(in.BlueGreenDeploymentConfiguration), readyOption(in.BlueGreenDeploymentConfiguration),
			aws.ToString(in.EcsServices[0].ServiceName), aws.ToString(in.EcsServices[0].ClusterName), targetGroupNames(in.LoadBalancerInfo),
			in.LoadBalancerInfo.TargetGroupPairInfoList[0].ProdTrafficRoute.ListenerArns, in.LoadBalancerInfo.TargetGroupPairInfoList[0].TestTrafficRoute.ListenerArns)
	}
	return resource{
		kind: "deployment group", name: n.DeploymentGroup,
		read: func(ctx context.Context) (state, error) {
			out, err := c.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(n.Application), DeploymentGroupName: aws.String(n.DeploymentGroup)})
			if isCode(err, "DeploymentGroupDoesNotExistException", "ApplicationDoesNotExistException") {
				return state{}, nil
			}
			if err != nil {
				return state{}, err
			}
			g := out.DeploymentGroupInfo
			managed, err := p.codeDeployManaged(ctx, n.DeploymentGroupARN())
			if err != nil {
				return state{}, err
			}
			svc, cluster := "", ""
			if len(g.EcsServices) > 0 {
				svc, cluster = aws.ToString(g.EcsServices[0].ServiceName), aws.ToString(g.EcsServices[0].ClusterName)
			}
			var prod, test []string
			if g.LoadBalancerInfo != nil && len(g.LoadBalancerInfo.TargetGroupPairInfoList) > 0 {
				pair := g.LoadBalancerInfo.TargetGroupPairInfoList[0]
				if pair.ProdTrafficRoute != nil {
					prod = pair.ProdTrafficRoute.ListenerArns
				}
				if pair.TestTrafficRoute != nil {
					test = pair.TestTrafficRoute.ListenerArns
				}
			}
			return state{exists: true, managed: managed, current: groupFingerprint(aws.ToString(g.DeploymentConfigName), aws.ToString(g.ServiceRoleArn),
				alarmNames(g.AlarmConfiguration), rollbackEvents(g.AutoRollbackConfiguration), terminationWait(g.BlueGreenDeploymentConfiguration),
				readyOption(g.BlueGreenDeploymentConfiguration), svc, cluster, targetGroupNames(g.LoadBalancerInfo), prod, test)}, nil
		},
		desired: func() string { return fromInput(p.b.deploymentGroup()) },
		create: func(ctx context.Context) error {
			_, err := c.CreateDeploymentGroup(ctx, p.b.deploymentGroup())
			return err
		},
		update: func(ctx context.Context) error {
			in := p.b.deploymentGroup()
			_, err := c.UpdateDeploymentGroup(ctx, &codedeploy.UpdateDeploymentGroupInput{
				ApplicationName: in.ApplicationName, CurrentDeploymentGroupName: in.DeploymentGroupName, ServiceRoleArn: in.ServiceRoleArn,
				DeploymentConfigName: in.DeploymentConfigName, EcsServices: in.EcsServices, LoadBalancerInfo: in.LoadBalancerInfo,
				BlueGreenDeploymentConfiguration: in.BlueGreenDeploymentConfiguration, DeploymentStyle: in.DeploymentStyle,
				AlarmConfiguration: in.AlarmConfiguration, AutoRollbackConfiguration: in.AutoRollbackConfiguration})
			return err
		},
		remove: func(ctx context.Context) error {
			_, err := c.DeleteDeploymentGroup(ctx, &codedeploy.DeleteDeploymentGroupInput{ApplicationName: aws.String(n.Application), DeploymentGroupName: aws.String(n.DeploymentGroup)})
			return err
		},
	}
}

func alarmNames(a *cdtypes.AlarmConfiguration) []string {
	var out []string
	if a != nil && a.Enabled {
		for _, x := range a.Alarms {
			out = append(out, aws.ToString(x.Name))
		}
	}
	return out
}

func rollbackEvents(r *cdtypes.AutoRollbackConfiguration) []string {
	var out []string
	if r != nil && r.Enabled {
		for _, e := range r.Events {
			out = append(out, string(e))
		}
	}
	return out
}

func terminationWait(b *cdtypes.BlueGreenDeploymentConfiguration) int32 {
	if b == nil || b.TerminateBlueInstancesOnDeploymentSuccess == nil {
		return 0
	}
	return b.TerminateBlueInstancesOnDeploymentSuccess.TerminationWaitTimeInMinutes
}

func readyOption(b *cdtypes.BlueGreenDeploymentConfiguration) string {
	if b == nil || b.DeploymentReadyOption == nil {
		return ""
	}
	return fmt.Sprintf("%s/%d", b.DeploymentReadyOption.ActionOnTimeout, b.DeploymentReadyOption.WaitTimeInMinutes)
}

func targetGroupNames(l *cdtypes.LoadBalancerInfo) []string {
	var out []string
	if l != nil {
		for _, p := range l.TargetGroupPairInfoList {
			for _, tg := range p.TargetGroups {
				out = append(out, aws.ToString(tg.Name))
			}
		}
	}
	return out
}
