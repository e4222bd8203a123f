package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// Deployer drives deployments of one spec through CodeDeploy (or, for the
// ECS controller, through ECS itself).
type Deployer struct {
	c *Clients
	b *blueprint
}

// NewDeployer returns a Deployer for s; s must name its region and account.
func NewDeployer(c *Clients, s Spec) (*Deployer, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &Deployer{c: c, b: newBlueprint(s, Live{})}, nil
}

// Deploy registers a task definition revision running image and starts a
// blue/green deployment of it. It returns the deployment ID (CodeDeploy)
// or the new task definition ARN (ECS controller).
func (d *Deployer) Deploy(ctx context.Context, image, description string) (string, error) {
	if strings.TrimSpace(image) == "" {
		return "", fmt.Errorf("%w: deploy needs an image", ErrInvalidSpec)
	}
	td, err := d.c.ECS.RegisterTaskDefinition(ctx, d.b.taskDefinition(image))
	if err != nil {
		return "", fmt.Errorf("register task definition: %w", err)
	}
	arn := aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	n := d.b.names
	if d.b.spec.Controller == ControllerECS {
		_, err := d.c.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(n.Cluster), Service: aws.String(n.ECSService), TaskDefinition: aws.String(arn)})
		if err != nil {
			return "", fmt.Errorf("update service %s: %w", n.ECSService, err)
		}
		return arn, nil
	}
	content := string(d.b.appSpec(arn))
	out, err := d.c.CodeDeploy.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String(n.Application), DeploymentGroupName: aws.String(n.DeploymentGroup),
		Description: aws.String(description),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent,
			AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(content)}},
	})
	if err != nil {
		return "", fmt.Errorf("create deployment of %s: %w", image, err)
	}
	return aws.ToString(out.DeploymentId), nil
}

// Approve lets a deployment waiting before production traffic go on
// (deploymentReadyOption STOP_DEPLOYMENT).
func (d *Deployer) Approve(ctx context.Context, id string) error {
	_, err := d.c.CodeDeploy.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id),
		DeploymentWaitType: cdtypes.DeploymentWaitTypeReadyWait})
	if err != nil {
		return fmt.Errorf("continue deployment %s: %w", id, err)
	}
	return nil
}

// Stop stops a deployment; with rollback, production traffic goes back
// to blue and green is removed.
func (d *Deployer) Stop(ctx context.Context, id string, rollback bool) error {
	_, err := d.c.CodeDeploy.StopDeployment(ctx, &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(rollback)})
	if err != nil {
		return fmt.Errorf("stop deployment %s: %w", id, err)
	}
	return nil
}

// Latest returns the newest deployment of the group, or "" when none.
func (d *Deployer) Latest(ctx context.Context) (string, error) {
	n := d.b.names
	out, err := d.c.CodeDeploy.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(n.Application), DeploymentGroupName: aws.String(n.DeploymentGroup)})
	if err != nil {
		return "", fmt.Errorf("list deployments: %w", err)
	}
	if len(out.Deployments) == 0 {
		return "", nil
	}
	return out.Deployments[0], nil
}

// Status is one look at a deployment.
type Status struct {
	ID, State string
	// Done is true once the deployment succeeded, failed or stopped.
	Done bool
	// Events are the lifecycle events with their state, in order.
	Events []string
	// TaskSets are the service's task sets: "PRIMARY hello:3 2/2 running".
	TaskSets []string
	// Weights are the production listener's target groups and weights.
	Weights []string
	Error   string
	// Step is the lifecycle event in progress (or the last one done).
	Step string
	// GreenPercent is the production weight of the replacement task set's
	// target group; -1 when there is no replacement.
	GreenPercent int
}

// Summary is one line saying where the deployment is, in the same form
// as a local deployment's watch: "ID Status step=X green=N%".
func (s *Status) Summary() string {
	line := fmt.Sprintf("%s %s step=%s", s.ID, s.State, s.Step)
	if s.GreenPercent >= 0 {
		line += fmt.Sprintf(" green=%d%%", s.GreenPercent)
	}
	if s.Error != "" {
		line += " error=" + s.Error
	}
	return line
}

// Write prints the status as a block.
func (s *Status) Write(w io.Writer) {
	fmt.Fprintf(w, "deployment %s: %s\n", s.ID, s.State)
	if s.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", s.Error)
	}
	for _, e := range s.Events {
		fmt.Fprintf(w, "  event    %s\n", e)
	}
	for _, t := range s.TaskSets {
		fmt.Fprintf(w, "  task set %s\n", t)
	}
	if len(s.Weights) > 0 {
		fmt.Fprintf(w, "  traffic  %s\n", strings.Join(s.Weights, "  "))
	}
}

// Status reads the deployment, its lifecycle events, the task sets and
// the production listener's weights.
func (d *Deployer) Status(ctx context.Context, id string) (*Status, error) {
	n := d.b.names
	out, err := d.c.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("get deployment %s: %w", id, err)
	}
	info := out.DeploymentInfo
	st := &Status{ID: id, State: string(info.Status), GreenPercent: -1, Step: "-"}
	st.Done = slices.Contains([]cdtypes.DeploymentStatus{cdtypes.DeploymentStatusSucceeded, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusStopped}, info.Status)
	if e := info.ErrorInformation; e != nil && (e.Code != "" || aws.ToString(e.Message) != "") {
		st.Error = fmt.Sprintf("%s: %s", info.ErrorInformation.Code, aws.ToString(info.ErrorInformation.Message))
	}
	if t, err := d.c.CodeDeploy.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(id)}); err == nil && len(t.TargetIds) > 0 {
		if bt, err := d.c.CodeDeploy.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(id), TargetIds: t.TargetIds}); err == nil {
			for _, tg := range bt.DeploymentTargets {
				if tg.EcsTarget != nil {
					running := false
					for _, ev := range tg.EcsTarget.LifecycleEvents {
						st.Events = append(st.Events, fmt.Sprintf("%-22s %s", aws.ToString(ev.LifecycleEventName), ev.Status))
						switch {
						case ev.Status == cdtypes.LifecycleEventStatusInProgress && !running:
							st.Step, running = aws.ToString(ev.LifecycleEventName), true
						case ev.Status == cdtypes.LifecycleEventStatusSucceeded && !running:
							st.Step = aws.ToString(ev.LifecycleEventName)
						}
					}
				}
			}
		}
	}
	svc, err := d.c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(n.Cluster), Services: []string{n.ECSService}})
	if err != nil {
		return nil, fmt.Errorf("describe service %s: %w", n.ECSService, err)
	}
	greenTG := ""
	for _, sv := range svc.Services {
		for _, ts := range sv.TaskSets {
			if aws.ToString(ts.Status) == "ACTIVE" && len(ts.LoadBalancers) > 0 {
				greenTG = tgName(aws.ToString(ts.LoadBalancers[0].TargetGroupArn)) // the replacement
			}
			td := aws.ToString(ts.TaskDefinition)
			td = td[strings.LastIndex(td, "/")+1:]
			st.TaskSets = append(st.TaskSets, fmt.Sprintf("%-7s %s %d/%d running", aws.ToString(ts.Status), td, ts.RunningCount, ts.ComputedDesiredCount))
		}
	}
	weights, err := d.readWeights(ctx)
	if err != nil {
		return nil, err
	}
	for _, w := range weights {
		st.Weights = append(st.Weights, fmt.Sprintf("%s=%d", w.name, w.weight))
		if w.name == greenTG {
			st.GreenPercent = w.weight
		}
	}
	return st, nil
}

type tgWeight struct {
	name   string
	weight int
}

// readWeights reads the production listener's target groups and weights.
func (d *Deployer) readWeights(ctx context.Context) ([]tgWeight, error) {
	n, s := d.b.names, d.b.spec
	lbs, err := d.c.ELB.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{n.LoadBalancer}})
	if isCode(err, "LoadBalancerNotFound") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe load balancer: %w", err)
	}
	ls, err := d.c.ELB.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
	if err != nil {
		return nil, fmt.Errorf("describe listeners: %w", err)
	}
	var out []tgWeight
	for _, l := range ls.Listeners {
		if aws.ToInt32(l.Port) != int32(s.ProductionPort) {
			continue
		}
		for _, a := range l.DefaultActions {
			if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
				for _, tg := range a.ForwardConfig.TargetGroups {
					out = append(out, tgWeight{tgName(aws.ToString(tg.TargetGroupArn)), int(aws.ToInt32(tg.Weight))})
				}
			} else if a.TargetGroupArn != nil {
				out = append(out, tgWeight{tgName(aws.ToString(a.TargetGroupArn)), 100})
			}
		}
	}
	return out, nil
}

func tgName(arn string) string {
	parts := strings.Split(arn, "/")
	if len(parts) >= 2 {
		return parts[len(parts)-2]
	}
	return arn
}

// Clock is the time Watch reads and waits on; tests pass a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ErrDeploymentFailed is returned by Watch for a deployment that failed or
// was stopped.
var ErrDeploymentFailed = errors.New("deployment did not succeed")

// Watch looks every interval until the deployment is done, printing a
// timestamped summary line whenever it changes (as a local deployment's
// watch does), then the full status. A nil clock uses the wall clock.
func (d *Deployer) Watch(ctx context.Context, id string, interval time.Duration, clock Clock, w io.Writer) error {
	if clock == nil {
		clock = realClock{}
	}
	last := ""
	for {
		st, err := d.Status(ctx, id)
		if err != nil {
			return err
		}
		if line := st.Summary(); line != last {
			fmt.Fprintln(w, clock.Now().UTC().Format("15:04:05"), line)
			last = line
		}
		if st.Done {
			st.Write(w)
			if st.State != string(cdtypes.DeploymentStatusSucceeded) {
				return fmt.Errorf("%w: %s %s", ErrDeploymentFailed, id, st.State)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-clock.After(interval):
		}
	}
}
