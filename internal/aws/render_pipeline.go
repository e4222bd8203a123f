package aws

import (
	"cmp"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

// Artifact names inside the pipeline.
const (
	sourceArtifact = "SourceOutput"
	buildArtifact  = "BuildOutput"
	// sourceActionName is what the V2 tag trigger points at.
	sourceActionName = "Source"
	// image1Name is the container placeholder name: taskdef.json's image
	// is <IMAGE1_NAME>, which the deploy action fills from imageDetail.json.
	image1Name = "IMAGE1_NAME"
	// buildImage is CodeBuild's current Amazon Linux standard image.
	buildImage = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
)

// buildProject is codebuild-project.json: a privileged Linux build (it
// runs docker) that reads .buildspec.yml from the source.
func (b *blueprint) buildProject() *codebuild.CreateProjectInput {
	n := b.names
	return &codebuild.CreateProjectInput{
		Name:        aws.String(n.BuildProject),
		Description: aws.String("Builds and pushes " + n.Repository + " for canaryflow"),
		Source:      &cbtypes.ProjectSource{Type: cbtypes.SourceTypeCodepipeline, Buildspec: aws.String(awsfmt.BuildspecFileName)},
		Artifacts:   &cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeCodepipeline},
		Environment: &cbtypes.ProjectEnvironment{
			Type:           cbtypes.EnvironmentTypeLinuxContainer,
			Image:          aws.String(buildImage),
			ComputeType:    cbtypes.ComputeTypeBuildGeneral1Small,
			PrivilegedMode: aws.Bool(true),
			EnvironmentVariables: []cbtypes.EnvironmentVariable{
				{Name: aws.String("REPOSITORY_URI"), Value: aws.String(n.RepositoryURI()), Type: cbtypes.EnvironmentVariableTypePlaintext},
				{Name: aws.String("CONTAINER_NAME"), Value: aws.String(n.Container), Type: cbtypes.EnvironmentVariableTypePlaintext},
			},
		},
		ServiceRole: aws.String(n.RoleARN(n.CodeBuildRole)),
		LogsConfig: &cbtypes.LogsConfig{CloudWatchLogs: &cbtypes.CloudWatchLogsConfig{
			Status: cbtypes.LogsConfigStatusTypeEnabled, GroupName: aws.String(n.BuildLogGroup)}},
		Tags: []cbtypes.Tag{{Key: aws.String(TagManagedBy), Value: aws.String("canaryflow")}, {Key: aws.String(TagService), Value: aws.String(b.spec.Service)}},
	}
}

// pipeline is pipeline.json: a V2 pipeline that starts on tags matching
// the pattern and deploys with CodeDeployToECS (blue/green through
// CodeDeploy) or, for the ECS controller, the ECS action (ECS's own
// canary does the blue/green).
func (b *blueprint) pipeline() *codepipeline.CreatePipelineInput {
	s, n := b.spec, b.names
	repo := b.ph.or(s.GitHubRepo, "GITHUB_OWNER/REPOSITORY")
	conn := b.ph.or(cmp.Or(s.ConnectionARN, b.live.ConnectionARN), "CONNECTION_ARN")
	source := cptypes.ActionDeclaration{
		Name:         aws.String(sourceActionName),
		ActionTypeId: &cptypes.ActionTypeId{Category: cptypes.ActionCategorySource, Owner: cptypes.ActionOwnerAws, Provider: aws.String("CodeStarSourceConnection"), Version: aws.String("1")},
		Configuration: map[string]string{
			"ConnectionArn":        conn,
			"FullRepositoryId":     repo,
			"BranchName":           s.Branch,
			"OutputArtifactFormat": "CODE_ZIP",
			"DetectChanges":        "false", // the tag trigger below starts the pipeline, not branch pushes
		},
		OutputArtifacts: []cptypes.OutputArtifact{{Name: aws.String(sourceArtifact)}},
		Namespace:       aws.String("SourceVariables"),
	}
	build := cptypes.ActionDeclaration{
		Name:            aws.String("Build"),
		ActionTypeId:    &cptypes.ActionTypeId{Category: cptypes.ActionCategoryBuild, Owner: cptypes.ActionOwnerAws, Provider: aws.String("CodeBuild"), Version: aws.String("1")},
		Configuration:   map[string]string{"ProjectName": n.BuildProject},
		InputArtifacts:  []cptypes.InputArtifact{{Name: aws.String(sourceArtifact)}},
		OutputArtifacts: []cptypes.OutputArtifact{{Name: aws.String(buildArtifact)}},
	}
	deploy := cptypes.ActionDeclaration{
		Name:           aws.String("Deploy"),
		InputArtifacts: []cptypes.InputArtifact{{Name: aws.String(buildArtifact)}},
	}
	if s.Controller == ControllerECS {
		deploy.ActionTypeId = &cptypes.ActionTypeId{Category: cptypes.ActionCategoryDeploy, Owner: cptypes.ActionOwnerAws, Provider: aws.String("ECS"), Version: aws.String("1")}
		deploy.Configuration = map[string]string{"ClusterName": n.Cluster, "ServiceName": n.ECSService, "FileName": awsfmt.ImageDefinitionsFileName}
	} else {
		deploy.ActionTypeId = &cptypes.ActionTypeId{Category: cptypes.ActionCategoryDeploy, Owner: cptypes.ActionOwnerAws, Provider: aws.String("CodeDeployToECS"), Version: aws.String("1")}
		deploy.Configuration = map[string]string{
			"ApplicationName":                n.Application,
			"DeploymentGroupName":            n.DeploymentGroup,
			"TaskDefinitionTemplateArtifact": buildArtifact,
			"TaskDefinitionTemplatePath":     awsfmt.TaskDefFileName,
			"AppSpecTemplateArtifact":        buildArtifact,
			"AppSpecTemplatePath":            awsfmt.AppSpecFileName,
			"Image1ArtifactName":             buildArtifact,
			"Image1ContainerName":            image1Name,
		}
	}
	return &codepipeline.CreatePipelineInput{
		Pipeline: &cptypes.PipelineDeclaration{
			Name:          aws.String(n.Pipeline),
			RoleArn:       aws.String(n.RoleARN(n.PipelineRole)),
			ArtifactStore: &cptypes.ArtifactStore{Type: cptypes.ArtifactStoreTypeS3, Location: aws.String(n.Bucket)},
			PipelineType:  cptypes.PipelineTypeV2,
			ExecutionMode: cptypes.ExecutionModeQueued,
			Triggers: []cptypes.PipelineTriggerDeclaration{{
				ProviderType: cptypes.PipelineTriggerProviderTypeCodeStarSourceConnection,
				GitConfiguration: &cptypes.GitConfiguration{
					SourceActionName: aws.String(sourceActionName),
					Push:             []cptypes.GitPushFilter{{Tags: &cptypes.GitTagFilterCriteria{Includes: []string{s.TagPattern}}}},
				},
			}},
			Stages: []cptypes.StageDeclaration{
				{Name: aws.String("Source"), Actions: []cptypes.ActionDeclaration{source}},
				{Name: aws.String("Build"), Actions: []cptypes.ActionDeclaration{build}},
				{Name: aws.String("Deploy"), Actions: []cptypes.ActionDeclaration{deploy}},
			},
		},
		Tags: []cptypes.Tag{{Key: aws.String(TagManagedBy), Value: aws.String("canaryflow")}, {Key: aws.String(TagService), Value: aws.String(s.Service)}},
	}
}

// buildspec is .buildspec.yml for the spec's controller.
func (b *blueprint) buildspec() []byte {
	return awsfmt.RenderBuildspec(awsfmt.BuildspecOptions{
		ImageDefinitions: b.spec.Controller == ControllerECS,
	})
}
