package aws

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

// TaskDefinitionPlaceholder is the AppSpec TaskDefinition value the
// CodeDeployToECS pipeline action replaces with the ARN of the task
// definition it registers. Any other placeholder reaches CodeDeploy as it
// is and fails with INVALID_REVISION (the guide's Q2).
const TaskDefinitionPlaceholder = "<TASK_DEFINITION>"

func (b *blueprint) codeDeployTags() []cdtypes.Tag {
	return []cdtypes.Tag{{Key: aws.String(TagManagedBy), Value: aws.String("canaryflow")}, {Key: aws.String(TagService), Value: aws.String(b.spec.Service)}}
}

func (b *blueprint) application() *codedeploy.CreateApplicationInput {
	return &codedeploy.CreateApplicationInput{
		ApplicationName: aws.String(b.names.Application),
		ComputePlatform: cdtypes.ComputePlatformEcs,
		Tags:            b.codeDeployTags(),
	}
}

// deploymentConfig is the custom routing, when the spec names no
// predefined configuration; nil otherwise.
func (b *blueprint) deploymentConfig() *codedeploy.CreateDeploymentConfigInput {
	s := b.spec
	if s.DeploymentConfig != "" {
		return nil
	}
	r := s.Routing
	trc := &cdtypes.TrafficRoutingConfig{}
	minutes := int32(r.Interval / time.Minute)
	switch r.Type {
	case awsfmt.TimeBasedCanary:
		trc.Type = cdtypes.TrafficRoutingTypeTimeBasedCanary
		trc.TimeBasedCanary = &cdtypes.TimeBasedCanary{CanaryPercentage: int32(r.Percent), CanaryInterval: minutes}
	case awsfmt.TimeBasedLinear:
		trc.Type = cdtypes.TrafficRoutingTypeTimeBasedLinear
		trc.TimeBasedLinear = &cdtypes.TimeBasedLinear{LinearPercentage: int32(r.Percent), LinearInterval: minutes}
	default:
		trc.Type = cdtypes.TrafficRoutingTypeAllAtOnce
	}
	return &codedeploy.CreateDeploymentConfigInput{
		DeploymentConfigName: aws.String(b.names.DeploymentConfig),
		ComputePlatform:      cdtypes.ComputePlatformEcs,
		TrafficRoutingConfig: trc,
	}
}

// deploymentGroup is deployment-group.json: the ECS service, the two
// target groups behind the production and test listeners, the alarms
// and automatic rollback.
func (b *blueprint) deploymentGroup() *codedeploy.CreateDeploymentGroupInput {
	s, n, l := b.spec, b.names, b.live
	ready := &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionContinueDeployment}
	if s.ReadyWait > 0 {
		ready = &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionStopDeployment,
			WaitTimeInMinutes: int32((s.ReadyWait + time.Minute - 1) / time.Minute)}
	}
	in := &codedeploy.CreateDeploymentGroupInput{
		ApplicationName:      aws.String(n.Application),
		DeploymentGroupName:  aws.String(n.DeploymentGroup),
		ServiceRoleArn:       aws.String(n.RoleARN(n.CodeDeployRole)),
		DeploymentConfigName: aws.String(n.DeploymentConfig),
		EcsServices:          []cdtypes.ECSService{{ServiceName: aws.String(n.ECSService), ClusterName: aws.String(n.Cluster)}},
		LoadBalancerInfo: &cdtypes.LoadBalancerInfo{TargetGroupPairInfoList: []cdtypes.TargetGroupPairInfo{{
			TargetGroups:     []cdtypes.TargetGroupInfo{{Name: aws.String(n.BlueTargetGroup)}, {Name: aws.String(n.GreenTargetGroup)}},
			ProdTrafficRoute: &cdtypes.TrafficRoute{ListenerArns: []string{b.ph.or(l.ProductionListenerARN, "PRODUCTION_LISTENER_ARN")}},
			TestTrafficRoute: &cdtypes.TrafficRoute{ListenerArns: []string{b.ph.or(l.TestListenerARN, "TEST_LISTENER_ARN")}},
		}}},
		BlueGreenDeploymentConfiguration: &cdtypes.BlueGreenDeploymentConfiguration{
			TerminateBlueInstancesOnDeploymentSuccess: &cdtypes.BlueInstanceTerminationOption{
				Action:                       cdtypes.InstanceActionTerminate,
				TerminationWaitTimeInMinutes: int32(s.TerminationWait / time.Minute),
			},
			DeploymentReadyOption: ready,
		},
		DeploymentStyle: &cdtypes.DeploymentStyle{
			DeploymentType:   cdtypes.DeploymentTypeBlueGreen,
			DeploymentOption: cdtypes.DeploymentOptionWithTrafficControl,
		},
		Tags: b.codeDeployTags(),
	}
	if !s.Alarms.Disabled {
		cfg := &cdtypes.AlarmConfiguration{Enabled: true}
		for _, name := range b.alarmNames() {
			cfg.Alarms = append(cfg.Alarms, cdtypes.Alarm{Name: aws.String(name)})
		}
		in.AlarmConfiguration = cfg
	}
	if len(s.RollbackEvents) > 0 {
		rb := &cdtypes.AutoRollbackConfiguration{Enabled: true}
		for _, e := range s.RollbackEvents {
			rb.Events = append(rb.Events, cdtypes.AutoRollbackEvent(e))
		}
		in.AutoRollbackConfiguration = rb
	}
	return in
}

// appSpec is appspec.yaml. Through the pipeline, TaskDefinition is the
// placeholder the CodeDeployToECS action fills; for a direct deployment
// it is the registered ARN.
func (b *blueprint) appSpec(taskDefinitionARN string) []byte {
	if taskDefinitionARN == "" {
		taskDefinitionARN = TaskDefinitionPlaceholder
	}
	return fmt.Appendf(nil, `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: %q
        LoadBalancerInfo:
          ContainerName: %q
          ContainerPort: %d
`, taskDefinitionARN, b.names.Container, b.spec.Port)
}
