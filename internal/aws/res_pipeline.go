package aws

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

func (p *Provisioner) buildProjectResource() resource {
	c, n := p.c.CodeBuild, p.b.names
	fromInput := func(in *codebuild.CreateProjectInput) string {
		var env []string
		for _, v := range in.Environment.EnvironmentVariables {
			env = append(env, aws.ToString(v.Name)+"="+aws.ToString(v.Value))
		}
		slices.Sort(env)
		return fingerprint("image", aws.ToString(in.Environment.Image), "service_role", aws.ToString(in.ServiceRole),
			"buildspec", aws.ToString(in.Source.Buildspec), "env", strings.Join(env, ","))
	}
	return resource{
		kind: "codebuild project", name: n.BuildProject,
		read: func(ctx context.Context) (state, error) {
			out, err := c.BatchGetProjects(ctx, &codebuild.BatchGetProjectsInput{Names: []string{n.BuildProject}})
			if err != nil {
				return state{}, err
			}
			if len(out.Projects) == 0 {
				return state{}, nil
			}
			pr := out.Projects[0]
			managed := false
			for _, t := range pr.Tags {
				managed = managed || aws.ToString(t.Key) == TagManagedBy
			}
			cur := &codebuild.CreateProjectInput{Environment: pr.Environment, ServiceRole: pr.ServiceRole, Source: pr.Source}
			return state{exists: true, managed: managed, current: fromInput(cur)}, nil
		},
		desired: func() string { return fromInput(p.b.buildProject()) },
		create: func(ctx context.Context) error {
			_, err := c.CreateProject(ctx, p.b.buildProject())
			return err
		},
		update: func(ctx context.Context) error {
			in := p.b.buildProject()
			_, err := c.UpdateProject(ctx, &codebuild.UpdateProjectInput{Name: in.Name, Description: in.Description, Source: in.Source,
				Artifacts: in.Artifacts, Environment: in.Environment, ServiceRole: in.ServiceRole, LogsConfig: in.LogsConfig})
			return err
		},
		remove: func(ctx context.Context) error {
			_, err := c.DeleteProject(ctx, &codebuild.DeleteProjectInput{Name: aws.String(n.BuildProject)})
			return err
		},
	}
}

func (p *Provisioner) pipelineResource() resource {
	c, n := p.c.CodePipeline, p.b.names
	fromDecl := func(d *cptypes.PipelineDeclaration) string {
		var kv []string
		kv = append(kv, "type", string(d.PipelineType), "role", aws.ToString(d.RoleArn))
		var tags []string
		for _, t := range d.Triggers {
			if t.GitConfiguration != nil {
				for _, push := range t.GitConfiguration.Push {
					if push.Tags != nil {
						tags = append(tags, push.Tags.Includes...)
					}
				}
			}
		}
		kv = append(kv, "trigger_tags", strings.Join(tags, ","))
		if d.ArtifactStore != nil {
			kv = append(kv, "artifacts", aws.ToString(d.ArtifactStore.Location))
		}
		for _, st := range d.Stages {
			for _, a := range st.Actions {
				var conf []string
				for k, v := range a.Configuration {
					conf = append(conf, k+":"+v)
				}
				slices.Sort(conf)
				prov := ""
				if a.ActionTypeId != nil {
					prov = aws.ToString(a.ActionTypeId.Provider)
				}
				kv = append(kv, "stage."+aws.ToString(st.Name), prov+" "+strings.Join(conf, " "))
			}
		}
		return fingerprint(kv...)
	}
	return resource{
		kind: "codepipeline", name: n.Pipeline,
		read: func(ctx context.Context) (state, error) {
			out, err := c.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(n.Pipeline)})
			if isCode(err, "PipelineNotFoundException") {
				return state{}, nil
			}
			if err != nil {
				return state{}, err
			}
			arn := n.arn("codepipeline", n.Pipeline)
			if out.Metadata != nil && out.Metadata.PipelineArn != nil {
				arn = *out.Metadata.PipelineArn
			}
			tags, err := c.ListTagsForResource(ctx, &codepipeline.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
			if err != nil {
				return state{}, err
			}
			managed := slices.ContainsFunc(tags.Tags, func(t cptypes.Tag) bool { return aws.ToString(t.Key) == TagManagedBy })
			return state{exists: true, managed: managed, current: fromDecl(out.Pipeline)}, nil
		},
		desired: func() string { return fromDecl(p.b.pipeline().Pipeline) },
		create: func(ctx context.Context) error {
			_, err := c.CreatePipeline(ctx, p.b.pipeline())
			return err
		},
		update: func(ctx context.Context) error {
			_, err := c.UpdatePipeline(ctx, &codepipeline.UpdatePipelineInput{Pipeline: p.b.pipeline().Pipeline})
			return err
		},
		remove: func(ctx context.Context) error {
			_, err := c.DeletePipeline(ctx, &codepipeline.DeletePipelineInput{Name: aws.String(n.Pipeline)})
			return err
		},
	}
}
