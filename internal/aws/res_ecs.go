package aws

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func ecsManaged(tags []ecstypes.Tag) bool {
	return slices.ContainsFunc(tags, func(t ecstypes.Tag) bool { return aws.ToString(t.Key) == TagManagedBy })
}

func (p *Provisioner) clusterResource() resource {
	c, n := p.c.ECS, p.b.names
	return resource{
		kind: "ecs cluster", name: n.Cluster,
		read: func(ctx context.Context) (state, error) {
			out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{n.Cluster}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags}})
			if err != nil {
				return state{}, err
			}
			for _, cl := range out.Clusters {
				if aws.ToString(cl.Status) == "ACTIVE" {
					return state{exists: true, managed: ecsManaged(cl.Tags)}, nil
				}
			}
			return state{}, nil
		},
		create: func(ctx context.Context) error {
			_, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(n.Cluster), Tags: p.b.ecsTags(),
				Settings: []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}}})
			return err
		},
		remove: func(ctx context.Context) error {
			_, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(n.Cluster)})
			return err
		},
	}
}

// taskDefinitionResource registers the first revision; later revisions
// come from the pipeline or `canaryflow aws deploy`.
func (p *Provisioner) taskDefinitionResource(image string) resource {
	c, n := p.c.ECS, p.b.names
	if image == "" {
		image = n.RepositoryURI() + ":latest"
	}
	return resource{
		kind: "task definition", name: n.Family,
		read: func(ctx context.Context) (state, error) {
			out, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(n.Family), Status: ecstypes.TaskDefinitionStatusActive})
			if err != nil {
				return state{}, err
			}
			// The family is the service's, so its revisions are canaryflow's.
			return state{exists: len(out.TaskDefinitionArns) > 0, managed: true}, nil
		},
		create: func(ctx context.Context) error {
			_, err := c.RegisterTaskDefinition(ctx, p.b.taskDefinition(image))
			return err
		},
		remove: func(ctx context.Context) error {
			out, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(n.Family), Status: ecstypes.TaskDefinitionStatusActive})
			if err != nil {
				return err
			}
			for _, arn := range out.TaskDefinitionArns {
				if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func (p *Provisioner) serviceResource() resource {
	c, n, s := p.c.ECS, p.b.names, p.b.spec
	fp := func(desired int32, controller string) string {
		return fingerprint("desired_count", strconv.Itoa(int(desired)), "controller", controller)
	}
	liveController := ""
	return resource{
		kind: "ecs service", name: n.ECSService,
		read: func(ctx context.Context) (state, error) {
			out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(n.Cluster), Services: []string{n.ECSService},
				Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
			if isCode(err, "ClusterNotFoundException") {
				return state{}, nil
			}
			if err != nil {
				return state{}, err
			}
			for _, sv := range out.Services {
				if aws.ToString(sv.Status) != "ACTIVE" {
					continue
				}
				ctl := ""
				if sv.DeploymentController != nil {
					ctl = string(sv.DeploymentController.Type)
				}
				liveController = ctl
				return state{exists: true, managed: ecsManaged(sv.Tags), current: fp(sv.DesiredCount, ctl)}, nil
			}
			return state{}, nil
		},
		desired: func() string { return fp(int32(s.DesiredCount), s.Controller) },
		create: func(ctx context.Context) error {
			_, err := c.CreateService(ctx, p.b.service())
			return err
		},
		update: func(ctx context.Context) error {
			if liveController != s.Controller {
				return fmt.Errorf("the service's deployment controller is %s and cannot change to %s in place: run `canaryflow aws destroy`, then apply", liveController, s.Controller)
			}
			_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(n.Cluster), Service: aws.String(n.ECSService), DesiredCount: aws.Int32(int32(s.DesiredCount))})
			return err
		},
		remove: func(ctx context.Context) error {
			_, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(n.Cluster), Service: aws.String(n.ECSService), Force: aws.Bool(true)})
			return err
		},
	}
}
