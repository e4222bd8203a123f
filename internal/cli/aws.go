package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	awsbackend "github.com/canaryflow/canaryflow/internal/aws"
	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/git"
)

// awsFlags are the flags every aws subcommand shares.
type awsFlags struct {
	region, profile, endpoint, connectionARN, githubRepo string
}

func newAWSCommand() *cobra.Command {
	f := &awsFlags{}
	cmd := &cobra.Command{
		Use:   "aws",
		Short: "Render, provision, deploy and diagnose the same release on AWS",
		Long: `The AWS backend: CodePipeline V2 (tag trigger) → CodeBuild → ECR → CodeDeploy
blue/green (or ECS's native canary) → ECS Fargate behind an ALB with two
target groups, CloudWatch alarms and S3 artifacts, from the service and aws
sections of canaryflow.yaml.

Credentials, region and endpoint come from the usual AWS settings
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ~/.aws/config), or the flags.

` + exitCodesHelp,
		Example: `  canaryflow aws render
  canaryflow aws doctor
  canaryflow aws plan
  canaryflow aws apply --connection-arn arn:aws:codestar-connections:us-west-2:111122223333:connection/abcd
  canaryflow aws deploy --image 111122223333.dkr.ecr.us-west-2.amazonaws.com/hello:v1.2.3 --watch
  canaryflow aws destroy`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.region, "region", "", "AWS region (default: aws.region, then AWS_REGION or the profile's)")
	pf.StringVar(&f.profile, "profile", "", "AWS profile (default: AWS_PROFILE)")
	pf.StringVar(&f.endpoint, "endpoint-url", "", "one endpoint for every AWS service (default: AWS_ENDPOINT_URL)")
	pf.StringVar(&f.connectionARN, "connection-arn", "", "an existing GitHub connection (default: aws.connection_arn)")
	pf.StringVar(&f.githubRepo, "github-repo", "", "OWNER/NAME (default: the origin remote on GitHub, then aws.github_repo)")
	cmd.AddCommand(newAWSRenderCommand(f), newAWSDoctorCommand(f), newAWSPlanCommand(f), newAWSApplyCommand(f), newAWSDestroyCommand(f),
		newAWSDeployCommand(f), newAWSStatusCommand(f), newAWSApproveCommand(f), newAWSStopCommand(f), newAWSRollbackCommand(f))
	explainAWSErrors(cmd, f)
	return cmd
}

// awsContext is what every aws subcommand starts from.
type awsContext struct {
	dir  string
	cfg  *config.Config
	spec awsbackend.Spec
}

var githubRemote = regexp.MustCompile(`^(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)([A-Za-z0-9-]+/[A-Za-z0-9._-]+?)(?:\.git)?/?$`)

// loadAWS reads canaryflow.yaml and turns it into a Spec. The region and
// account may still be empty; resolve fills them.
func loadAWS(cmd *cobra.Command, f *awsFlags) (*awsContext, error) {
	ctx := cmd.Context()
	dir, err := workDir(cmd)
	if err != nil {
		return nil, err
	}
	root := dir
	repo, gitErr := git.Open(ctx, dir)
	if gitErr == nil {
		root = repo.Dir
	}
	cfg, err := loadConfig(cmd, root)
	if err != nil {
		return nil, err
	}
	if cfg.Service == nil {
		return nil, usageErrorf("canaryflow.yaml has no service section: the AWS backend deploys the service it describes (add service: {name: ...})")
	}
	s := specFromConfig(cfg)
	if f.region != "" {
		s.Region = f.region
	}
	if f.connectionARN != "" {
		s.ConnectionARN = f.connectionARN
	}
	switch {
	case f.githubRepo != "":
		s.GitHubRepo = f.githubRepo
	case gitErr == nil:
		if url, err := repo.Output(ctx, "remote", "get-url", cfg.Release.Remote); err == nil {
			if m := githubRemote.FindStringSubmatch(strings.TrimSpace(url)); m != nil {
				s.GitHubRepo = m[1]
			}
		}
	}
	return &awsContext{dir: root, cfg: cfg, spec: s}, nil
}

// specFromConfig maps canaryflow.yaml onto the AWS backend's Spec.
func specFromConfig(cfg *config.Config) awsbackend.Spec {
	sv, a := cfg.Service, cfg.AWS
	s := awsbackend.Spec{
		Service: sv.Name, Container: sv.Container.Name, Port: sv.Container.Port, DesiredCount: sv.DesiredCount, Env: sv.Env,
		HealthCheck: awsbackend.HealthCheck{Path: sv.HealthCheck.Path, Interval: sv.HealthCheck.Interval.D(), Timeout: sv.HealthCheck.Timeout.D(),
			HealthyThreshold: sv.HealthCheck.HealthyThreshold, UnhealthyThreshold: sv.HealthCheck.UnhealthyThreshold, Matcher: sv.HealthCheck.SuccessCodes},
		ProductionPort: sv.Listeners.ProductionPort, TestPort: sv.Listeners.TestPort, TestListenerCIDRs: a.TestListenerCIDRs,
		DeploymentConfig: sv.DeploymentConfig.Name, Routing: sv.DeploymentConfig.Routing,
		KeepImages: sv.KeepImages, TerminationWait: sv.TerminationWait.D(), RollbackEvents: sv.AutoRollback.Events, NoAutoRollback: sv.AutoRollback.Disabled,
		Alarms: awsbackend.Alarms{Disabled: sv.Alarms.Disabled, ErrorRatePercent: sv.Alarms.ErrorRatePercent, P99Latency: sv.Alarms.P99Latency.D(),
			Period: sv.Alarms.Period.D(), EvaluationPeriods: sv.Alarms.EvaluationPeriods, DatapointsToAlarm: sv.Alarms.DatapointsToAlarm, MinRequests: sv.Alarms.MinRequests},
		Region: a.Region, Account: a.Account, Subnets: a.Subnets, SecurityGroups: a.SecurityGroups, PublicIP: !a.PrivateTasks,
		ConnectionARN: a.ConnectionARN, GitHubRepo: a.GitHubRepo, Branch: cfg.Release.MainBranch, TagPattern: a.TagPattern,
		Controller: a.Controller, CPU: a.CPU, Memory: a.Memory,
	}
	if sv.Ready.Action == config.StopDeployment {
		s.ReadyWait = sv.Ready.Wait.D()
	}
	return s
}

// clients builds the AWS clients and fills the spec's region and account.
func (ac *awsContext) clients(ctx context.Context, f *awsFlags) (*awsbackend.Clients, error) {
	c, err := awsbackend.NewClients(ctx, awsbackend.ClientOptions{Region: ac.spec.Region, Profile: f.profile, Endpoint: f.endpoint})
	if err != nil {
		return nil, err
	}
	if err := awsbackend.Discover(ctx, c, &ac.spec); err != nil {
		if errors.Is(err, awsbackend.ErrInvalidSpec) {
			return nil, &usageError{err: err}
		}
		return nil, err
	}
	if err := ac.spec.Validate(); err != nil {
		return nil, &usageError{err: err}
	}
	return c, nil
}

// confirm asks on stdin; anything but y/yes is no.
func confirm(cmd *cobra.Command, question string) bool {
	fmt.Fprintf(cmd.OutOrStdout(), "%s [y/N] ", question)
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}
