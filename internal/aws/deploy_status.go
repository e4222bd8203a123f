package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/canaryflow/canaryflow/internal/watchview"
)

// Status is one look at a deployment, in the view every backend shares:
// CodeDeploy's status and lifecycle events (or ECS's service deployment
// and its lifecycle stage), the service's task sets, the production
// listener's weights by target group, healthy targets and the alarms.
func (d *Deployer) Status(ctx context.Context, id string) (*watchview.Deployment, error) {
	var v *watchview.Deployment
	var err error
	if d.ecsNative() {
		v, err = d.ecsStatus(ctx, id)
	} else {
		v, err = d.codeDeployStatus(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	if err := d.traffic(ctx, v); err != nil {
		return nil, err
	}
	if err := d.alarmState(ctx, v); err != nil {
		return nil, err
	}
	return v, nil
}

var codeDeployDone = []cdtypes.DeploymentStatus{cdtypes.DeploymentStatusSucceeded, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusStopped}

func (d *Deployer) codeDeployStatus(ctx context.Context, id string) (*watchview.Deployment, error) {
	out, err := d.c.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("get deployment %s: %w", id, err)
	}
	info := out.DeploymentInfo
	v := &watchview.Deployment{ID: id, Service: d.b.spec.Service, Status: string(info.Status), Step: "-",
		Done: slices.Contains(codeDeployDone, info.Status), Succeeded: info.Status == cdtypes.DeploymentStatusSucceeded}
	if e := info.ErrorInformation; e != nil && (e.Code != "" || aws.ToString(e.Message) != "") {
		v.Error = &watchview.Error{Code: string(e.Code), Message: aws.ToString(e.Message)}
	}
	if r := info.RollbackInfo; r != nil && aws.ToString(r.RollbackDeploymentId) != "" {
		v.RolledBack = true
	}
	if r := info.Revision; r != nil && r.AppSpecContent != nil {
		v.Revision = revisionOf(appSpecTaskDefinition(aws.ToString(r.AppSpecContent.Content)))
	}
	t, err := d.c.CodeDeploy.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("list deployment targets of %s: %w", id, err)
	}
	if len(t.TargetIds) == 0 {
		return v, nil
	}
	bt, err := d.c.CodeDeploy.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(id), TargetIds: t.TargetIds})
	if err != nil {
		return nil, fmt.Errorf("get deployment targets of %s: %w", id, err)
	}
	for _, tg := range bt.DeploymentTargets {
		if tg.EcsTarget == nil {
			continue
		}
		running := false
		for _, ev := range tg.EcsTarget.LifecycleEvents {
			name := aws.ToString(ev.LifecycleEventName)
			e := watchview.Event{Name: name, Status: string(ev.Status), Start: aws.ToTime(ev.StartTime), End: aws.ToTime(ev.EndTime)}
			if dg := ev.Diagnostics; dg != nil && aws.ToString(dg.Message) != "" {
				e.Detail = string(dg.ErrorCode) + " " + aws.ToString(dg.Message)
			}
			v.Events = append(v.Events, e)
			switch {
			case ev.Status == cdtypes.LifecycleEventStatusInProgress && !running:
				v.Step, running = name, true
			case ev.Status == cdtypes.LifecycleEventStatusSucceeded && !running:
				v.Step = name
			}
		}
	}
	return v, nil
}

// appSpecTaskDefinition finds the TaskDefinition an AppSpec names.
func appSpecTaskDefinition(appSpec string) string {
	for _, line := range strings.Split(appSpec, "\n") {
		if k, val, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == "TaskDefinition" {
			return strings.Trim(strings.TrimSpace(val), `"'`)
		}
	}
	return ""
}

// serviceDeployment reads one ECS service deployment.
func (d *Deployer) serviceDeployment(ctx context.Context, arn string) (*ecstypes.ServiceDeployment, error) {
	out, err := d.c.ECS.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		return nil, fmt.Errorf("describe service deployment %s: %w", arn, err)
	}
	if len(out.ServiceDeployments) == 0 {
		return nil, fmt.Errorf("service deployment %s: not found", arn)
	}
	return &out.ServiceDeployments[0], nil
}

var ecsDone = []ecstypes.ServiceDeploymentStatus{ecstypes.ServiceDeploymentStatusSuccessful, ecstypes.ServiceDeploymentStatusStopped,
	ecstypes.ServiceDeploymentStatusRollbackSuccessful, ecstypes.ServiceDeploymentStatusRollbackFailed}

// ecsStatus reads an ECS-controller deployment: its status, lifecycle
// stage and the revisions it moves between.
func (d *Deployer) ecsStatus(ctx context.Context, arn string) (*watchview.Deployment, error) {
	sd, err := d.serviceDeployment(ctx, arn)
	if err != nil {
		return nil, err
	}
	v := &watchview.Deployment{ID: arn, Service: d.b.spec.Service, Status: string(sd.Status), Step: string(sd.LifecycleStage),
		Done: slices.Contains(ecsDone, sd.Status), Succeeded: sd.Status == ecstypes.ServiceDeploymentStatusSuccessful,
		RolledBack: sd.Status == ecstypes.ServiceDeploymentStatusRollbackSuccessful}
	if v.Step == "" {
		v.Step = "-"
	}
	if r := aws.ToString(sd.StatusReason); r != "" && !v.Succeeded {
		v.Error = &watchview.Error{Code: string(sd.Status), Message: r}
	}
	if sd.LifecycleStage != "" {
		v.Events = append(v.Events, watchview.Event{Name: string(sd.LifecycleStage), Status: string(sd.Status), Start: aws.ToTime(sd.StartedAt), End: aws.ToTime(sd.FinishedAt)})
	}
	for _, h := range sd.LifecycleHookDetails {
		v.Events = append(v.Events, watchview.Event{Name: "hook " + aws.ToString(h.HookId), Status: string(h.Status), Detail: aws.ToString(h.TargetArn)})
	}
	revs := map[string]int{} // service revision ARN → task definition revision
	var arns []string
	if t := sd.TargetServiceRevision; t != nil {
		arns = append(arns, aws.ToString(t.Arn))
	}
	for _, s := range sd.SourceServiceRevisions {
		arns = append(arns, aws.ToString(s.Arn))
	}
	if len(arns) > 0 {
		out, err := d.c.ECS.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: arns})
		if err != nil {
			return nil, fmt.Errorf("describe service revisions of %s: %w", arn, err)
		}
		for _, r := range out.ServiceRevisions {
			revs[aws.ToString(r.ServiceRevisionArn)] = revisionOf(aws.ToString(r.TaskDefinition))
		}
	}
	if t := sd.TargetServiceRevision; t != nil {
		v.Revision = revs[aws.ToString(t.Arn)]
		if w := t.RequestedProductionTrafficWeight; w != nil {
			v.GreenPercent = int(*w + 0.5)
		}
	}
	if len(sd.SourceServiceRevisions) > 0 {
		v.PreviousRevision = revs[aws.ToString(sd.SourceServiceRevisions[0].Arn)]
	}
	return v, nil
}

// traffic fills the production split and each version from the service's
// task sets (CodeDeploy) or revisions' target groups (ECS), the
// production listener's weights and the target groups' health.
func (d *Deployer) traffic(ctx context.Context, v *watchview.Deployment) error {
	n := d.b.names
	weights, arns, err := d.readWeights(ctx)
	if err != nil || len(weights) == 0 {
		return err
	}
	blueTG, greenTG := n.BlueTargetGroup, n.GreenTargetGroup
	t := &watchview.Traffic{Blue: watchview.Group{TaskSet: blueTG}, Green: watchview.Group{TaskSet: greenTG}}
	if !d.ecsNative() {
		svc, err := d.c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(n.Cluster), Services: []string{n.ECSService}})
		if err != nil {
			return fmt.Errorf("describe service %s: %w", n.ECSService, err)
		}
		var sets []ecstypes.TaskSet
		for _, sv := range svc.Services {
			sets = append(sets, sv.TaskSets...)
		}
		for _, ts := range sets {
			g := watchview.Group{TaskSet: aws.ToString(ts.Id), Running: int(ts.RunningCount), Desired: int(ts.ComputedDesiredCount)}
			tg := ""
			if len(ts.LoadBalancers) > 0 {
				tg = tgName(aws.ToString(ts.LoadBalancers[0].TargetGroupArn))
			}
			switch aws.ToString(ts.Status) {
			case "PRIMARY":
				t.Blue, blueTG = g, cmpOr(tg, blueTG)
				v.BlueTaskSet = g.TaskSet
				if v.PreviousRevision == 0 && !v.Done {
					v.PreviousRevision = revisionOf(aws.ToString(ts.TaskDefinition))
				}
			case "ACTIVE":
				t.Green, greenTG = g, cmpOr(tg, greenTG)
			}
		}
		if blueTG == greenTG { // only the replacement is known: blue is the other group
			blueTG = map[bool]string{true: n.GreenTargetGroup, false: n.BlueTargetGroup}[greenTG == n.BlueTargetGroup]
		}
	}
	if d.ecsNative() {
		t.GreenPercent = float64(v.GreenPercent) // ECS's requested weight for the target revision
	} else {
		for _, w := range weights {
			if w.name == greenTG {
				t.GreenPercent = float64(w.weight)
			}
		}
		v.GreenPercent = int(t.GreenPercent)
	}
	for _, g := range []struct {
		name string
		grp  *watchview.Group
	}{{blueTG, &t.Blue}, {greenTG, &t.Green}} {
		if arns[g.name] == "" {
			continue
		}
		h, err := d.c.ELB.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arns[g.name])})
		if err != nil {
			return fmt.Errorf("describe target health of %s: %w", g.name, err)
		}
		for _, th := range h.TargetHealthDescriptions {
			if th.TargetHealth != nil && th.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
				g.grp.Healthy++
			}
		}
		if g.grp.TaskSet == "" || g.grp.TaskSet == g.name {
			g.grp.TaskSet = g.name
		} else {
			g.grp.TaskSet += " (" + g.name + ")"
		}
	}
	v.Traffic = t
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// alarmState reads the alarms watching green: ALARM when one fires, OK
// when all are OK, INSUFFICIENT_DATA otherwise.
func (d *Deployer) alarmState(ctx context.Context, v *watchview.Deployment) error {
	names := d.b.alarmNames()
	if len(names) == 0 {
		return nil
	}
	out, err := d.c.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names})
	if err != nil {
		return fmt.Errorf("describe alarms: %w", err)
	}
	if len(out.MetricAlarms) == 0 {
		return nil
	}
	state, reasons := "OK", []string{}
	for _, a := range out.MetricAlarms {
		switch a.StateValue {
		case cwtypes.StateValueAlarm:
			state = "ALARM"
			reasons = append(reasons, aws.ToString(a.AlarmName)+": "+aws.ToString(a.StateReason))
		case cwtypes.StateValueInsufficientData:
			if state == "OK" {
				state = "INSUFFICIENT_DATA"
			}
		}
	}
	if state == "INSUFFICIENT_DATA" {
		reasons = append(reasons, "CloudWatch has too few datapoints for "+strings.Join(names, ", "))
	}
	v.Alarm = watchview.Alarm{State: state, Reason: strings.Join(reasons, "; ")}
	return nil
}

type tgWeight struct {
	name   string
	weight int
}

// readWeights reads the production listener's target groups and weights
// (for the ECS controller, those of the listener rule ECS moves), and
// the target groups' ARNs by name.
func (d *Deployer) readWeights(ctx context.Context) ([]tgWeight, map[string]string, error) {
	n, s := d.b.names, d.b.spec
	lbs, err := d.c.ELB.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{n.LoadBalancer}})
	if isCode(err, "LoadBalancerNotFound") {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("describe load balancer: %w", err)
	}
	ls, err := d.c.ELB.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
	if err != nil {
		return nil, nil, fmt.Errorf("describe listeners: %w", err)
	}
	var out []tgWeight
	arns := map[string]string{}
	add := func(actions []elbtypes.Action) {
		for _, a := range actions {
			if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
				for _, tg := range a.ForwardConfig.TargetGroups {
					name := tgName(aws.ToString(tg.TargetGroupArn))
					arns[name] = aws.ToString(tg.TargetGroupArn)
					out = append(out, tgWeight{name, int(aws.ToInt32(tg.Weight))})
				}
			} else if a.TargetGroupArn != nil {
				name := tgName(aws.ToString(a.TargetGroupArn))
				arns[name] = aws.ToString(a.TargetGroupArn)
				out = append(out, tgWeight{name, 100})
			}
		}
	}
	for _, l := range ls.Listeners {
		if aws.ToInt32(l.Port) != int32(s.ProductionPort) {
			continue
		}
		if d.ecsNative() {
			rules, err := d.c.ELB.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: l.ListenerArn})
			if err != nil {
				return nil, nil, fmt.Errorf("describe rules: %w", err)
			}
			for _, r := range rules.Rules {
				if aws.ToString(r.Priority) == "1" {
					add(r.Actions)
				}
			}
			continue
		}
		add(l.DefaultActions)
	}
	return out, arns, nil
}

func tgName(arn string) string {
	parts := strings.Split(arn, "/")
	if len(parts) >= 2 {
		return parts[len(parts)-2]
	}
	return arn
}
