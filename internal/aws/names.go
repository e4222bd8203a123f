package aws

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Names are the AWS resource names and ARNs derived from one Spec. Every
// document that refers to another resource takes the name from here, so
// the service, deployment group, task definition, container and target
// groups cannot disagree (the guide's Q6).
type Names struct {
	spec Spec

	Cluster, ECSService, Family, Container          string
	Repository, Bucket, BuildProject, Pipeline      string
	Application, DeploymentGroup, DeploymentConfig  string
	LoadBalancer, BlueTargetGroup, GreenTargetGroup string
	ALBSecurityGroup, TaskSecurityGroup             string
	TaskLogGroup, BuildLogGroup                     string
	Alarm5xx, AlarmLatency                          string
	Connection                                      string
	// Roles, by purpose.
	ExecutionRole, TaskRole, CodeDeployRole, CodeBuildRole, PipelineRole, InfrastructureRole string
}

// NamesFor derives the names of s's resources.
func NamesFor(s Spec) Names {
	s = s.withDefaults()
	n := Names{spec: s}
	svc := s.Service
	n.Cluster, n.ECSService, n.Family, n.Container = svc, svc, svc, s.Container
	n.Repository = svc
	n.Bucket = capName(fmt.Sprintf("%s-artifacts-%s-%s", svc, s.Account, s.Region), 63)
	n.BuildProject = svc + "-build"
	n.Pipeline = svc
	n.Application, n.DeploymentGroup = svc, svc
	if s.DeploymentConfig == "" {
		n.DeploymentConfig = capName(fmt.Sprintf("%s-%s", svc, routingSlug(s)), 100)
	} else {
		n.DeploymentConfig = s.DeploymentConfig
	}
	n.LoadBalancer = capName(svc, 32)
	n.BlueTargetGroup = capName(svc+"-blue", 32)
	n.GreenTargetGroup = capName(svc+"-green", 32)
	n.ALBSecurityGroup = svc + "-alb"
	n.TaskSecurityGroup = svc + "-tasks"
	n.TaskLogGroup = "/ecs/" + svc
	n.BuildLogGroup = "/aws/codebuild/" + n.BuildProject
	n.Alarm5xx = svc + "-green-5xx"
	n.AlarmLatency = svc + "-green-p99"
	n.Connection = capName(svc+"-github", 32)
	n.ExecutionRole = capName(svc+"-task-execution", 64)
	n.TaskRole = capName(svc+"-task", 64)
	n.CodeDeployRole = capName(svc+"-codedeploy", 64)
	n.CodeBuildRole = capName(svc+"-codebuild", 64)
	n.PipelineRole = capName(svc+"-codepipeline", 64)
	n.InfrastructureRole = capName(svc+"-ecs-infrastructure", 64)
	return n
}

func routingSlug(s Spec) string {
	r := s.Routing
	switch r.Type {
	case "TimeBasedCanary":
		return fmt.Sprintf("canary%d-%dm", r.Percent, int(r.Interval.Minutes()))
	case "TimeBasedLinear":
		return fmt.Sprintf("linear%d-%dm", r.Percent, int(r.Interval.Minutes()))
	}
	return "all-at-once"
}

// capName shortens name to at most max characters, keeping it unique with
// a hash suffix when it has to cut.
func capName(name string, max int) string {
	if len(name) <= max {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	h := hex.EncodeToString(sum[:])[:6]
	cut := name[:max-7]
	for len(cut) > 0 && cut[len(cut)-1] == '-' {
		cut = cut[:len(cut)-1]
	}
	return cut + "-" + h
}

// arn builds an ARN in the spec's partition, region and account.
func (n Names) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, n.spec.Region, n.spec.Account, resource)
}

// RoleARN returns the ARN of the role called name.
func (n Names) RoleARN(name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", n.spec.Account, name)
}

// RepositoryARN is the ECR repository's ARN.
func (n Names) RepositoryARN() string { return n.arn("ecr", "repository/"+n.Repository) }

// RepositoryURI is where images are pushed.
func (n Names) RepositoryURI() string {
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", n.spec.Account, n.spec.Region, n.Repository)
}

// BucketARN is the artifact bucket's ARN.
func (n Names) BucketARN() string { return "arn:aws:s3:::" + n.Bucket }

// ServiceARN is the ECS service's ARN (long form).
func (n Names) ServiceARN() string {
	return n.arn("ecs", fmt.Sprintf("service/%s/%s", n.Cluster, n.ECSService))
}

// ClusterARN is the ECS cluster's ARN.
func (n Names) ClusterARN() string { return n.arn("ecs", "cluster/"+n.Cluster) }

// TaskSetARNs matches every task set of the service.
func (n Names) TaskSetARNs() string {
	return n.arn("ecs", fmt.Sprintf("task-set/%s/%s/*", n.Cluster, n.ECSService))
}

// TaskDefinitionARNs matches every revision of the family.
func (n Names) TaskDefinitionARNs() string {
	return n.arn("ecs", fmt.Sprintf("task-definition/%s:*", n.Family))
}

// ApplicationARN is the CodeDeploy application's ARN.
func (n Names) ApplicationARN() string { return n.arn("codedeploy", "application:"+n.Application) }

// DeploymentGroupARN is the CodeDeploy deployment group's ARN.
func (n Names) DeploymentGroupARN() string {
	return n.arn("codedeploy", fmt.Sprintf("deploymentgroup:%s/%s", n.Application, n.DeploymentGroup))
}

// BuildProjectARN is the CodeBuild project's ARN.
func (n Names) BuildProjectARN() string { return n.arn("codebuild", "project/"+n.BuildProject) }

// LogGroupARN is the ARN of a log group and its streams.
func (n Names) LogGroupARN(group string) string { return n.arn("logs", "log-group:"+group+":*") }

// AlarmARN is the ARN of a CloudWatch alarm.
func (n Names) AlarmARN(name string) string { return n.arn("cloudwatch", "alarm:"+name) }

// LoadBalancerARNs matches the ALB, its listeners and its listener rules.
func (n Names) LoadBalancerARNs() []string {
	return []string{
		n.arn("elasticloadbalancing", fmt.Sprintf("listener/app/%s/*", n.LoadBalancer)),
		n.arn("elasticloadbalancing", fmt.Sprintf("listener-rule/app/%s/*", n.LoadBalancer)),
	}
}

// TargetGroupARNs matches the two target groups.
func (n Names) TargetGroupARNs() []string {
	return []string{
		n.arn("elasticloadbalancing", fmt.Sprintf("targetgroup/%s/*", n.BlueTargetGroup)),
		n.arn("elasticloadbalancing", fmt.Sprintf("targetgroup/%s/*", n.GreenTargetGroup)),
	}
}
