package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/canaryflow/canaryflow/internal/watchview"
)

// Deployer drives deployments of one spec through CodeDeploy or, for the
// ECS controller, through ECS's service deployments.
type Deployer struct {
	c     *Clients
	b     *blueprint
	clock Clock // nil means the wall clock
	// sdWait bounds the wait for ECS to list the service deployment an
	// UpdateService started; sdPoll is the pause between looks. Zero
	// means serviceDeploymentWait and serviceDeploymentPoll.
	sdWait, sdPoll time.Duration
}

// SetClock sets the clock that times the wait for a service deployment
// to be listed after UpdateService (ECS controller); nil is the wall
// clock.
func (d *Deployer) SetClock(c Clock) { d.clock = c }

// NewDeployer returns a Deployer for s; s must name its region and account.
func NewDeployer(c *Clients, s Spec) (*Deployer, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &Deployer{c: c, b: newBlueprint(s, Live{})}, nil
}

func (d *Deployer) ecsNative() bool { return d.b.spec.Controller == ControllerECS }

// Deploy registers a task definition revision running image and starts a
// blue/green deployment of it. It returns the deployment's ID: a
// CodeDeploy deployment ID, or (ECS controller) the service deployment's
// ARN.
func (d *Deployer) Deploy(ctx context.Context, image, description string) (string, error) {
	if strings.TrimSpace(image) == "" {
		return "", fmt.Errorf("%w: deploy needs an image", ErrInvalidSpec)
	}
	td, err := d.c.ECS.RegisterTaskDefinition(ctx, d.b.taskDefinition(image))
	if err != nil {
		return "", fmt.Errorf("register task definition: %w", err)
	}
	return d.deployTaskDefinition(ctx, aws.ToString(td.TaskDefinition.TaskDefinitionArn), description, "")
}

// deployTaskDefinition starts a deployment of the task definition arn; a
// config name other than "" overrides the group's deployment config.
func (d *Deployer) deployTaskDefinition(ctx context.Context, arn, description, config string) (string, error) {
	n := d.b.names
	if d.ecsNative() {
		start := d.now()
		_, err := d.c.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(n.Cluster), Service: aws.String(n.ECSService), TaskDefinition: aws.String(arn)})
		if err != nil {
			return "", fmt.Errorf("update service %s: %w", n.ECSService, err)
		}
		return d.awaitServiceDeployment(ctx, start, arn)
	}
	in := &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String(n.Application), DeploymentGroupName: aws.String(n.DeploymentGroup),
		Description: aws.String(description),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent,
			AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(string(d.b.appSpec(arn)))}},
	}
	if config != "" {
		in.DeploymentConfigName = aws.String(config)
	}
	out, err := d.c.CodeDeploy.CreateDeployment(ctx, in)
	if err != nil {
		return "", fmt.Errorf("create deployment of %s: %w", arn, err)
	}
	return aws.ToString(out.DeploymentId), nil
}

// ErrUnsupported is returned for an operation the deployment controller
// does not offer.
var ErrUnsupported = errors.New("not supported by this deployment controller")

// ErrNothingToApprove is returned by Approve when no step waits for one.
var ErrNothingToApprove = errors.New("nothing waits for approval")

// Approve lets a deployment waiting before production traffic go on:
// CodeDeploy's ContinueDeployment (READY_WAIT), or, for the ECS
// controller, ContinueServiceDeployment on the lifecycle hook that awaits
// an action.
func (d *Deployer) Approve(ctx context.Context, id string) error {
	if d.ecsNative() {
		sd, err := d.serviceDeployment(ctx, id)
		if err != nil {
			return err
		}
		for _, h := range sd.LifecycleHookDetails {
			if h.Status == ecstypes.DeploymentLifecycleHookStatusAwaitingAction {
				_, err := d.c.ECS.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(id), HookId: h.HookId, Action: ecstypes.DeploymentLifecycleHookActionContinue})
				if err != nil {
					return fmt.Errorf("continue service deployment %s: %w", id, err)
				}
				return nil
			}
		}
		return fmt.Errorf("service deployment %s: %w", id, ErrNothingToApprove)
	}
	_, err := d.c.CodeDeploy.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id),
		DeploymentWaitType: cdtypes.DeploymentWaitTypeReadyWait})
	if err != nil {
		return fmt.Errorf("continue deployment %s: %w", id, err)
	}
	return nil
}

// Stop stops a deployment; with rollback, production traffic goes back
// to blue and green is removed. ECS can only stop a service deployment by
// rolling it back, so without rollback the ECS controller refuses.
func (d *Deployer) Stop(ctx context.Context, id string, rollback bool) error {
	if d.ecsNative() {
		if !rollback {
			return fmt.Errorf("%w: ECS stops a service deployment only by rolling it back (drop --no-rollback)", ErrUnsupported)
		}
		_, err := d.c.ECS.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(id), StopType: ecstypes.StopServiceDeploymentStopTypeRollback})
		if err != nil {
			return fmt.Errorf("stop service deployment %s: %w", id, err)
		}
		return nil
	}
	_, err := d.c.CodeDeploy.StopDeployment(ctx, &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(rollback)})
	if err != nil {
		return fmt.Errorf("stop deployment %s: %w", id, err)
	}
	return nil
}

// Latest returns the newest deployment of the service, or "" when none.
func (d *Deployer) Latest(ctx context.Context) (string, error) {
	n := d.b.names
	if d.ecsNative() {
		out, err := d.c.ECS.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(n.Cluster), Service: aws.String(n.ECSService)})
		if err != nil {
			return "", fmt.Errorf("list service deployments: %w", err)
		}
		var newest *ecstypes.ServiceDeploymentBrief
		for i, b := range out.ServiceDeployments {
			if newest == nil || aws.ToTime(b.CreatedAt).After(aws.ToTime(newest.CreatedAt)) {
				newest = &out.ServiceDeployments[i]
			}
		}
		if newest == nil {
			return "", nil
		}
		return aws.ToString(newest.ServiceDeploymentArn), nil
	}
	out, err := d.c.CodeDeploy.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(n.Application), DeploymentGroupName: aws.String(n.DeploymentGroup)})
	if err != nil {
		return "", fmt.Errorf("list deployments: %w", err)
	}
	if len(out.Deployments) == 0 {
		return "", nil
	}
	return out.Deployments[0], nil
}

const (
	// serviceDeploymentWait is how long Deploy waits, by default, for ECS
	// to list the service deployment UpdateService started.
	serviceDeploymentWait = 2 * time.Minute
	// serviceDeploymentPoll is the pause between looks.
	serviceDeploymentPoll = 2 * time.Second
	// maxClockSkew is how far ECS's clock, which stamps a service
	// deployment's createdAt, may be behind ours (AWS refuses requests
	// signed more than 5 minutes off its clock).
	maxClockSkew = 5 * time.Minute
)

// ErrServiceDeploymentNotListed is returned by Deploy (ECS controller)
// when ECS did not list the service deployment UpdateService started in
// time.
var ErrServiceDeploymentNotListed = errors.New("ECS did not list the new service deployment")

func (d *Deployer) clockOrWall() Clock {
	if d.clock == nil {
		return realClock{}
	}
	return d.clock
}

func (d *Deployer) now() time.Time { return d.clockOrWall().Now() }

// awaitServiceDeployment returns the ARN of the service deployment that
// UpdateService, called at start, began for the task definition td.
// Right after UpdateService ECS may not list it yet while it still lists
// the one before (finished), so only a service deployment created at or
// after start (less maxClockSkew) whose target service revision runs td
// counts. It looks again every sdPoll until one does, and gives up with
// ErrServiceDeploymentNotListed once sdWait has passed (by the clock, or
// by the number of looks should the clock stand still).
func (d *Deployer) awaitServiceDeployment(ctx context.Context, start time.Time, td string) (string, error) {
	wait, poll := d.sdWait, d.sdPoll
	if wait <= 0 {
		wait = serviceDeploymentWait
	}
	if poll <= 0 {
		poll = serviceDeploymentPoll
	}
	clock := d.clockOrWall()
	deadline := start.Add(wait)
	for looks := 1; ; looks++ {
		id, err := d.serviceDeploymentSince(ctx, start, td)
		if err != nil || id != "" {
			return id, err
		}
		if !clock.Now().Before(deadline) || time.Duration(looks)*poll > wait {
			return "", fmt.Errorf("%w: none of %s on service %s created since %s after %s (looked %d times)", ErrServiceDeploymentNotListed,
				shortTaskDefinition(td), d.b.names.ECSService, start.UTC().Format(time.RFC3339), wait, looks)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-clock.After(poll):
		}
	}
}

// serviceDeploymentSince returns the newest service deployment created at
// or after since (less maxClockSkew) whose target service revision runs
// the task definition td; "" when ECS lists none.
func (d *Deployer) serviceDeploymentSince(ctx context.Context, since time.Time, td string) (string, error) {
	n := d.b.names
	after := since.Add(-maxClockSkew)
	in := &ecs.ListServiceDeploymentsInput{Cluster: aws.String(n.Cluster), Service: aws.String(n.ECSService), CreatedAt: &ecstypes.CreatedAt{After: aws.Time(after)}}
	var briefs []ecstypes.ServiceDeploymentBrief
	for {
		out, err := d.c.ECS.ListServiceDeployments(ctx, in)
		if err != nil {
			return "", fmt.Errorf("list service deployments: %w", err)
		}
		for _, b := range out.ServiceDeployments {
			// the filter again, for an answer that did not apply it
			if b.CreatedAt != nil && !b.CreatedAt.Before(after) && aws.ToString(b.TargetServiceRevisionArn) != "" {
				briefs = append(briefs, b)
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	slices.SortStableFunc(briefs, func(a, b ecstypes.ServiceDeploymentBrief) int { return b.CreatedAt.Compare(*a.CreatedAt) })
	var revs []string
	for _, b := range briefs {
		if r := aws.ToString(b.TargetServiceRevisionArn); !slices.Contains(revs, r) && len(revs) < 20 { // DescribeServiceRevisions takes 20
			revs = append(revs, r)
		}
	}
	if len(revs) == 0 {
		return "", nil
	}
	out, err := d.c.ECS.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: revs})
	if err != nil {
		return "", fmt.Errorf("describe service revisions: %w", err)
	}
	runs := map[string]string{}
	for _, r := range out.ServiceRevisions {
		runs[aws.ToString(r.ServiceRevisionArn)] = aws.ToString(r.TaskDefinition)
	}
	for _, b := range briefs {
		if t := runs[aws.ToString(b.TargetServiceRevisionArn)]; t != "" && shortTaskDefinition(t) == shortTaskDefinition(td) {
			return aws.ToString(b.ServiceDeploymentArn), nil
		}
	}
	return "", nil
}

// Rollback is what Deployer.Rollback did.
type Rollback struct {
	// Stopped is the in-flight deployment stopped with rollback; empty
	// when none was in flight.
	Stopped string
	// Deployment is the new deployment of PreviousTaskDefinition; empty
	// when an in-flight one was stopped instead.
	Deployment             string
	PreviousTaskDefinition string
}

// ErrNoPreviousRevision is returned by Rollback when the live revision is
// the family's first.
var ErrNoPreviousRevision = errors.New("no earlier task definition revision to go back to")

// Rollback goes back to what ran before. A deployment in flight is
// stopped with rollback (production traffic returns to blue at once).
// Otherwise the task definition revision before the live one is deployed
// anew: through CodeDeploy all at once (CodeDeployDefault.ECSAllAtOnce,
// as a local rollback skips the canary), or, for the ECS controller,
// with the service's own strategy (ECS has no per-deployment override).
func (d *Deployer) Rollback(ctx context.Context) (*Rollback, error) {
	id, err := d.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if id != "" {
		st, err := d.Status(ctx, id)
		if err != nil {
			return nil, err
		}
		if !st.Done {
			if err := d.Stop(ctx, id, true); err != nil {
				return nil, err
			}
			return &Rollback{Stopped: id}, nil
		}
	}
	live, err := d.liveTaskDefinition(ctx)
	if err != nil {
		return nil, err
	}
	prev, err := d.previousTaskDefinition(ctx, live)
	if err != nil {
		return nil, err
	}
	dep, err := d.deployTaskDefinition(ctx, prev, "canaryflow aws rollback from "+shortTaskDefinition(live), "CodeDeployDefault.ECSAllAtOnce")
	if err != nil {
		return nil, err
	}
	return &Rollback{Deployment: dep, PreviousTaskDefinition: prev}, nil
}

// liveTaskDefinition is the task definition the service's primary task
// set (or, without task sets, the service) runs.
func (d *Deployer) liveTaskDefinition(ctx context.Context) (string, error) {
	n := d.b.names
	out, err := d.c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(n.Cluster), Services: []string{n.ECSService}})
	if err != nil {
		return "", fmt.Errorf("describe service %s: %w", n.ECSService, err)
	}
	for _, sv := range out.Services {
		for _, ts := range sv.TaskSets {
			if aws.ToString(ts.Status) == "PRIMARY" {
				return aws.ToString(ts.TaskDefinition), nil
			}
		}
		if sv.TaskDefinition != nil {
			return aws.ToString(sv.TaskDefinition), nil
		}
	}
	return "", fmt.Errorf("service %s: no task definition runs", n.ECSService)
}

// previousTaskDefinition is the newest active revision of the family
// older than live.
func (d *Deployer) previousTaskDefinition(ctx context.Context, live string) (string, error) {
	rev := revisionOf(live)
	in := &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(d.b.names.Family), Status: ecstypes.TaskDefinitionStatusActive, Sort: ecstypes.SortOrderDesc}
	for {
		out, err := d.c.ECS.ListTaskDefinitions(ctx, in)
		if err != nil {
			return "", fmt.Errorf("list task definitions of %s: %w", d.b.names.Family, err)
		}
		arns := slices.Clone(out.TaskDefinitionArns)
		slices.SortFunc(arns, func(a, b string) int { return revisionOf(b) - revisionOf(a) })
		for _, a := range arns {
			if familyOf(a) == d.b.names.Family && revisionOf(a) < rev {
				return a, nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return "", fmt.Errorf("%s: %w", shortTaskDefinition(live), ErrNoPreviousRevision)
		}
		in.NextToken = out.NextToken
	}
}

// shortTaskDefinition turns an ARN into family:revision.
func shortTaskDefinition(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func familyOf(arn string) string {
	f, _, _ := strings.Cut(shortTaskDefinition(arn), ":")
	return f
}

// revisionOf is the revision number of a task definition ARN; 0 when it
// has none.
func revisionOf(arn string) int {
	_, r, _ := strings.Cut(shortTaskDefinition(arn), ":")
	n, _ := strconv.Atoi(r)
	return n
}

// Clock is the time Watch reads and waits on; tests pass a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Watch follows a deployment until it ends, in the same view as a local
// deployment's --watch (package watchview). It returns nil when it
// succeeded and a *watchview.NotSucceededError otherwise.
func (d *Deployer) Watch(ctx context.Context, id string, w io.Writer, o watchview.Options) error {
	return watchview.Watch(ctx, w, func(ctx context.Context) (*watchview.Deployment, error) { return d.Status(ctx, id) }, o)
}
