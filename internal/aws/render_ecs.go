package aws

import (
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

// blueprint builds every AWS request for one spec and one view of the
// account. Render writes its requests as files; apply sends them.
type blueprint struct {
	spec  Spec
	names Names
	live  Live
	ph    placeholders
}

func newBlueprint(s Spec, live Live) *blueprint {
	s = s.withDefaults()
	if live.ConnectionARN != "" && s.ConnectionARN == "" {
		s.ConnectionARN = live.ConnectionARN
	}
	return &blueprint{spec: s, names: NamesFor(s), live: live, ph: placeholders{}}
}

// ecsTags are the tags on every ECS resource canaryflow creates.
func (b *blueprint) ecsTags() []ecstypes.Tag {
	return []ecstypes.Tag{{Key: aws.String(TagManagedBy), Value: aws.String("canaryflow")}, {Key: aws.String(TagService), Value: aws.String(b.spec.Service)}}
}

// taskDefinition is taskdef.json: the image is the <IMAGE1_NAME>
// placeholder CodePipeline's CodeDeployToECS action (and `aws deploy`)
// replaces with the built image.
func (b *blueprint) taskDefinition(image string) *ecs.RegisterTaskDefinitionInput {
	s, n := b.spec, b.names
	if image == "" {
		image = awsfmt.ImagePlaceholder
	}
	var env []ecstypes.KeyValuePair
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(s.Env[k])})
	}
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(n.Family),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String(strconv.Itoa(s.CPU)),
		Memory:                  aws.String(strconv.Itoa(s.Memory)),
		ExecutionRoleArn:        aws.String(n.RoleARN(n.ExecutionRole)),
		TaskRoleArn:             aws.String(n.RoleARN(n.TaskRole)),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name:         aws.String(n.Container),
			Image:        aws.String(image),
			Essential:    aws.Bool(true),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(int32(s.Port)), Protocol: ecstypes.TransportProtocolTcp}},
			Environment:  env,
			LogConfiguration: &ecstypes.LogConfiguration{
				LogDriver: ecstypes.LogDriverAwslogs,
				Options: map[string]string{
					"awslogs-group":         n.TaskLogGroup,
					"awslogs-region":        s.Region,
					"awslogs-stream-prefix": "ecs",
					"awslogs-create-group":  "true",
				},
			},
		}},
	}
}

// service is service-definition.json: the ECS service behind the blue
// target group, with the deployment controller the spec asks for.
func (b *blueprint) service() *ecs.CreateServiceInput {
	s, n, l := b.spec, b.names, b.live
	assign := ecstypes.AssignPublicIpDisabled
	if s.PublicIP {
		assign = ecstypes.AssignPublicIpEnabled
	}
	sgs := s.SecurityGroups
	if len(sgs) == 0 {
		sgs = l.TaskSecurityGroups
	}
	lb := ecstypes.LoadBalancer{
		TargetGroupArn: aws.String(b.ph.or(l.BlueTargetGroupARN, "BLUE_TARGET_GROUP_ARN")),
		ContainerName:  aws.String(n.Container),
		ContainerPort:  aws.Int32(int32(s.Port)),
	}
	in := &ecs.CreateServiceInput{
		Cluster:        aws.String(n.Cluster),
		ServiceName:    aws.String(n.ECSService),
		TaskDefinition: aws.String(n.Family),
		DesiredCount:   aws.Int32(int32(s.DesiredCount)),
		LaunchType:     ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets:        b.ph.orList(firstNonEmpty(s.Subnets, l.Subnets), "SUBNET_IDS"),
			SecurityGroups: b.ph.orList(sgs, "TASK_SECURITY_GROUP_IDS"),
			AssignPublicIp: assign,
		}},
		HealthCheckGracePeriodSeconds: aws.Int32(60),
		PropagateTags:                 ecstypes.PropagateTagsService,
		EnableECSManagedTags:          true,
		Tags:                          b.ecsTags(),
	}
	if s.Controller == ControllerECS {
		lb.AdvancedConfiguration = &ecstypes.AdvancedConfiguration{
			AlternateTargetGroupArn: aws.String(b.ph.or(l.GreenTargetGroupARN, "GREEN_TARGET_GROUP_ARN")),
			ProductionListenerRule:  aws.String(b.ph.or(l.ProductionRuleARN, "PRODUCTION_LISTENER_RULE_ARN")),
			TestListenerRule:        aws.String(b.ph.or(l.TestRuleARN, "TEST_LISTENER_RULE_ARN")),
			RoleArn:                 aws.String(n.RoleARN(n.InfrastructureRole)),
		}
		in.DeploymentController = &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs}
		in.DeploymentConfiguration = b.ecsDeployment()
	} else {
		in.DeploymentController = &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy}
	}
	in.LoadBalancers = []ecstypes.LoadBalancer{lb}
	return in
}

// ecsDeployment is ECS's native blue/green: CANARY or LINEAR from the
// deployment config, bake time from the termination wait, alarms that
// roll back (ECS requires both flags; an alarm always rolls back).
func (b *blueprint) ecsDeployment() *ecstypes.DeploymentConfiguration {
	s := b.spec
	minutes := func(d time.Duration) *int32 { return aws.Int32(int32(d / time.Minute)) }
	dc := &ecstypes.DeploymentConfiguration{BakeTimeInMinutes: minutes(s.TerminationWait)}
	switch r := s.Routing; r.Type {
	case awsfmt.TimeBasedCanary:
		dc.Strategy = ecstypes.DeploymentStrategyCanary
		dc.CanaryConfiguration = &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(float64(r.Percent)), CanaryBakeTimeInMinutes: minutes(r.Interval)}
	case awsfmt.TimeBasedLinear:
		dc.Strategy = ecstypes.DeploymentStrategyLinear
		dc.LinearConfiguration = &ecstypes.LinearConfiguration{StepPercent: aws.Float64(float64(r.Percent)), StepBakeTimeInMinutes: minutes(r.Interval)}
	default:
		dc.Strategy = ecstypes.DeploymentStrategyBlueGreen
	}
	if !s.Alarms.Disabled {
		dc.Alarms = &ecstypes.DeploymentAlarms{AlarmNames: b.alarmNames(), Enable: true, Rollback: true}
	}
	return dc
}

func firstNonEmpty(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}
