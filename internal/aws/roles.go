package aws

// Role is one IAM role canaryflow creates: who may assume it and the one
// inline policy saying what it may do.
type Role struct {
	Name string
	// Service is the AWS service principal that assumes the role.
	Service string
	// Purpose is a one-line description, also the role's IAM description.
	Purpose string
	Trust   PolicyDocument
	// Policy is the inline permission policy; nil for a role that needs
	// none (the task role starts with no permissions).
	Policy *PolicyDocument
}

// PolicyName is the name of every role's inline policy.
const PolicyName = "canaryflow"

// Service principals.
const (
	principalECSTasks     = "ecs-tasks.amazonaws.com"
	principalECS          = "ecs.amazonaws.com"
	principalCodeDeploy   = "codedeploy.amazonaws.com"
	principalCodeBuild    = "codebuild.amazonaws.com"
	principalCodePipeline = "codepipeline.amazonaws.com"
)

// Roles returns every role the spec needs, least privilege: each action
// is scoped to the resources canaryflow names wherever IAM supports
// resource-level permissions, iam:PassRole only ever passes to one named
// service, and no action is a wildcard. It includes what the guide had to
// add after failed deployments: S3 artifact reads and ELB listener/rule
// changes and ECS task-set operations for CodeDeploy.
func (n Names) Roles() []Role {
	s := n.spec
	acct := s.Account
	bucketObjects := n.BucketARN() + "/*"
	execution := Role{
		Name: n.ExecutionRole, Service: principalECSTasks,
		Purpose: "lets ECS pull " + n.Repository + " from ECR and write its logs",
		Trust:   trustPolicy(principalECSTasks, acct),
		Policy: &PolicyDocument{Version: PolicyVersion, Statement: []Statement{
			allow("ECRToken", []string{"ecr:GetAuthorizationToken"}, "*"),
			allow("PullImage", []string{"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"}, n.RepositoryARN()),
			allow("Logs", []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}, n.LogGroupARN(n.TaskLogGroup)),
		}},
	}
	task := Role{
		Name: n.TaskRole, Service: principalECSTasks,
		Purpose: "the identity of " + s.Service + "'s tasks; no permissions until the service needs some",
		Trust:   trustPolicy(principalECSTasks, acct),
	}
	taskRoles := []string{n.RoleARN(n.ExecutionRole), n.RoleARN(n.TaskRole)}
	codeDeploy := Role{
		Name: n.CodeDeployRole, Service: principalCodeDeploy,
		Purpose: "lets CodeDeploy shift " + s.Service + " between task sets",
		Trust:   trustPolicy(principalCodeDeploy, acct),
		Policy: &PolicyDocument{Version: PolicyVersion, Statement: []Statement{
			allow("ECSTaskSets", []string{"ecs:DescribeServices", "ecs:CreateTaskSet", "ecs:UpdateTaskSet", "ecs:DeleteTaskSet",
				"ecs:DescribeTaskSets", "ecs:UpdateServicePrimaryTaskSet"}, n.ServiceARN(), n.TaskSetARNs()),
			allow("ELBDescribe", []string{"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners",
				"elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"}, "*"),
			allow("ELBShiftTraffic", []string{"elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"}, n.LoadBalancerARNs()...),
			allow("Alarms", []string{"cloudwatch:DescribeAlarms"}, n.AlarmARN(s.Service+"-*")),
			allow("ArtifactBucket", []string{"s3:GetBucketLocation", "s3:ListBucket"}, n.BucketARN()),
			allow("Artifacts", []string{"s3:GetObject", "s3:GetObjectVersion"}, bucketObjects),
			passRole("PassTaskRoles", principalECSTasks, taskRoles...),
		}},
	}
	build := Role{
		Name: n.CodeBuildRole, Service: principalCodeBuild,
		Purpose: "lets CodeBuild build and push " + n.Repository,
		Trust:   trustPolicy(principalCodeBuild, acct),
		Policy: &PolicyDocument{Version: PolicyVersion, Statement: []Statement{
			allow("Logs", []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}, n.LogGroupARN(n.BuildLogGroup)),
			allow("ECRToken", []string{"ecr:GetAuthorizationToken"}, "*"),
			allow("PushImage", []string{"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
				"ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"}, n.RepositoryARN()),
			allow("ArtifactBucket", []string{"s3:GetBucketLocation"}, n.BucketARN()),
			allow("Artifacts", []string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"}, bucketObjects),
		}},
	}
	pipeline := Role{
		Name: n.PipelineRole, Service: principalCodePipeline,
		Purpose: "lets CodePipeline run " + s.Service + "'s Source, Build and Deploy stages",
		Trust:   trustPolicy(principalCodePipeline, acct),
		Policy: &PolicyDocument{Version: PolicyVersion, Statement: []Statement{
			allow("ArtifactBucket", []string{"s3:GetBucketLocation", "s3:ListBucket", "s3:GetBucketVersioning"}, n.BucketARN()),
			allow("Artifacts", []string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"}, bucketObjects),
			allow("Build", []string{"codebuild:StartBuild", "codebuild:BatchGetBuilds"}, n.BuildProjectARN()),
			allow("TaskDefinitions", []string{"ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"}, "*"),
			passRole("PassTaskRoles", principalECSTasks, taskRoles...),
		}},
	}
	if s.ConnectionARN != "" {
		pipeline.Policy.Statement = append(pipeline.Policy.Statement,
			allow("Source", []string{"codestar-connections:UseConnection", "codeconnections:UseConnection"}, s.ConnectionARN))
	} else {
		pipeline.Policy.Statement = append(pipeline.Policy.Statement,
			allow("Source", []string{"codestar-connections:UseConnection", "codeconnections:UseConnection"},
				n.arn("codestar-connections", "connection/*"), n.arn("codeconnections", "connection/*")))
	}
	roles := []Role{execution, task}
	if s.Controller == ControllerECS {
		infra := Role{
			Name: n.InfrastructureRole, Service: principalECS,
			Purpose: "lets ECS move " + s.Service + "'s listener rules between target groups",
			Trust:   trustPolicy(principalECS, acct),
			Policy: &PolicyDocument{Version: PolicyVersion, Statement: []Statement{
				allow("ELBDescribe", []string{"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
					"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"}, "*"),
				allow("ELBShiftTraffic", []string{"elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"}, n.LoadBalancerARNs()...),
				allow("ELBTargets", []string{"elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"}, n.TargetGroupARNs()...),
			}},
		}
		pipeline.Policy.Statement = append(pipeline.Policy.Statement,
			allow("DeployECS", []string{"ecs:DescribeServices", "ecs:UpdateService"}, n.ServiceARN()))
		return append(roles, infra, build, pipeline)
	}
	pipeline.Policy.Statement = append(pipeline.Policy.Statement,
		allow("DeployApplication", []string{"codedeploy:GetApplication", "codedeploy:GetApplicationRevision",
			"codedeploy:RegisterApplicationRevision"}, n.ApplicationARN()),
		allow("Deploy", []string{"codedeploy:CreateDeployment", "codedeploy:GetDeployment"}, n.DeploymentGroupARN()),
		allow("DeployConfig", []string{"codedeploy:GetDeploymentConfig"}, n.arn("codedeploy", "deploymentconfig:*")))
	return append(roles, codeDeploy, build, pipeline)
}
