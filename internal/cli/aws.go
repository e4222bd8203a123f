package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	awsbackend "github.com/canaryflow/canaryflow/internal/aws"
	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/git"
	"github.com/canaryflow/canaryflow/internal/watchview"
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

func newAWSRenderCommand(f *awsFlags) *cobra.Command {
	var out string
	var live bool
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Write taskdef.json, appspec.yaml, .buildspec.yml and every AWS document",
		Long: `Writes what a team would otherwise write by hand, correct by construction:
taskdef.json, appspec.yaml and .buildspec.yml at the top of --out (the
pipeline reads them from the source), and under aws/ the service and
deployment group definitions, the pipeline, the CodeBuild project, target
groups, alarms, the ECR lifecycle policy and every IAM role's trust and
permission policy. Each JSON file is accepted by the AWS CLI command named
in the output (--cli-input-json file://...).

Without --live, identifiers AWS assigns at creation (listener and target
group ARNs, subnets) are written as named placeholders; apply fills them.

Alarms on green follow the local defaults: the 5xx share always, p99
latency only when alarms.p99_latency is set. AWS rounds the period up to
whole minutes (ALB metrics come once a minute), and min_errors,
unhealthy_targets and treat_missing_data: breaching have no CloudWatch
counterpart here (see README, AWS).`,
		Example: "  canaryflow aws render\n  canaryflow aws render --out deploy --live",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ac, err := loadAWS(cmd, f)
			if err != nil {
				return err
			}
			var liveIDs awsbackend.Live
			if live || ac.spec.Region == "" || ac.spec.Account == "" {
				c, err := ac.clients(cmd.Context(), f)
				if err != nil {
					if !live {
						return usageErrorf("render needs the region and account: set aws.region and aws.account in canaryflow.yaml, or give credentials (%v)", err)
					}
					return err
				}
				if live {
					p, err := awsbackend.NewProvisioner(c, ac.spec, awsbackend.ProvisionOptions{})
					if err != nil {
						return err
					}
					if _, err := p.Plan(cmd.Context()); err != nil {
						return err
					}
					liveIDs = p.Live()
				}
			}
			b, err := awsbackend.Render(ac.spec, liveIDs)
			if err != nil {
				return &usageError{err: err}
			}
			if out == "" {
				out = ac.dir
			}
			if err := b.Write(out); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, file := range b.Files {
				line := "  " + file.Path
				if len(file.CLI) > 0 {
					line += "    aws " + strings.ReplaceAll(strings.Join(file.CLI, " "), "FILE", file.Path)
				}
				fmt.Fprintln(w, line)
			}
			fmt.Fprintf(w, "Wrote %d files to %s.\n", len(b.Files), out)
			if len(b.Placeholders) > 0 {
				fmt.Fprintf(w, "Placeholders for values AWS assigns (canaryflow aws apply fills them; render --live reads them): %s\n", strings.Join(b.Placeholders, " "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write to (default: the repository root)")
	cmd.Flags().BoolVar(&live, "live", false, "read ARNs and network IDs from the account")
	return cmd
}

// errFindings makes doctor exit 1 when it found something.
var errFindings = errors.New("doctor found problems")

func newAWSDoctorCommand(f *awsFlags) *cobra.Command {
	var dir string
	var account bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check local files (and the account) for the release guide's failure classes",
		Long: `Reads appspec.yaml, taskdef.json, .buildspec.yml and the documents under aws/
(or the guide's file names) and reports, each with exactly what to change:
a placeholder TaskDefinition CodeDeploy cannot parse; names that differ
across service, deployment group, task definition, container and target
groups; missing S3, ELB or ECS task-set permissions on the CodeDeploy role;
a V1 pipeline or no tag trigger; the plain ECS (or CodeDeploy) action used
for blue/green; over-broad IAM policies; a pager that breaks the AWS CLI.
With --account it also checks the deployed CodeDeploy role and what apply
would change. Exits 1 when it finds anything.`,
		Example: "  canaryflow aws doctor\n  canaryflow aws doctor --dir deploy --account",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			wd, err := workDir(cmd)
			if err != nil {
				return err
			}
			var spec *awsbackend.Spec
			ac, lerr := loadAWS(cmd, f)
			if lerr == nil {
				spec = &ac.spec
				if spec.Region == "" || spec.Account == "" {
					spec = nil // ARNs unknown offline: check actions only
				}
				if dir == "" {
					dir = ac.dir
				}
			}
			if dir == "" {
				dir = wd
			}
			docs, err := awsbackend.ReadDocuments(dir)
			if err != nil {
				return err
			}
			cfgText, _ := os.ReadFile(awsConfigPath())
			findings := awsbackend.Diagnose(docs, awsbackend.DoctorOptions{Spec: spec, LookupEnv: os.LookupEnv, AWSConfig: string(cfgText)})
			if account {
				if lerr != nil {
					return lerr
				}
				c, err := ac.clients(cmd.Context(), f)
				if err != nil {
					return err
				}
				more, err := awsbackend.DiagnoseAccount(cmd.Context(), c, ac.spec)
				if err != nil {
					return err
				}
				findings = append(findings, more...)
			}
			w := cmd.OutOrStdout()
			for _, fd := range findings {
				fmt.Fprintln(w, fd)
			}
			if len(findings) > 0 {
				fmt.Fprintf(w, "%d problem(s).\n", len(findings))
				return errFindings
			}
			fmt.Fprintln(w, "No problems found.")
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "where the files are (default: the repository root)")
	cmd.Flags().BoolVar(&account, "account", false, "also check the account (needs credentials)")
	return cmd
}

func awsConfigPath() string {
	if p := os.Getenv("AWS_CONFIG_FILE"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".aws", "config")
}

func newAWSPlanCommand(f *awsFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "plan",
		Short:   "Show what exists and what apply would create or change",
		Long:    "Reads every resource canaryflow manages, in dependency order, and says for each: create, update (and what differs), unchanged, or manual.",
		Example: "  canaryflow aws plan",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, _, err := newProvisioner(cmd, f, awsbackend.ProvisionOptions{})
			if err != nil {
				return err
			}
			plan, err := p.Plan(cmd.Context())
			if err != nil {
				return err
			}
			plan.Write(cmd.OutOrStdout())
			return nil
		},
	}
}

func newProvisioner(cmd *cobra.Command, f *awsFlags, o awsbackend.ProvisionOptions) (*awsbackend.Provisioner, *awsContext, error) {
	ac, err := loadAWS(cmd, f)
	if err != nil {
		return nil, nil, err
	}
	c, err := ac.clients(cmd.Context(), f)
	if err != nil {
		return nil, nil, err
	}
	p, err := awsbackend.NewProvisioner(c, ac.spec, o)
	if err != nil {
		return nil, nil, &usageError{err: err}
	}
	return p, ac, nil
}

// confirm asks on stdin; anything but y/yes is no.
func confirm(cmd *cobra.Command, question string) bool {
	fmt.Fprintf(cmd.OutOrStdout(), "%s [y/N] ", question)
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}

func newAWSApplyCommand(f *awsFlags) *cobra.Command {
	var yes bool
	var image string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Create or update every AWS resource, in dependency order",
		Long: `Shows the plan, asks, then creates or updates each resource with a progress
line per step. A second apply changes nothing.

The pipeline's source needs a GitHub connection, and AWS lets only a person
approve one, in the console. With --connection-arn (or aws.connection_arn)
apply uses that connection and creates none. Without it, apply creates a
connection named SERVICE-github (tagged, so destroy removes it), prints the
console page where it must be approved, and then either waits for the
approval (--wait-connection 15m: it asks every 10s and gives up after
that long) or stops (exit 1) before the pipeline. Approve it, run apply
again: it finds the connection by its name and goes on.`,
		Example: "  canaryflow aws apply\n  canaryflow aws apply --yes --wait-connection 15m\n  canaryflow aws apply --yes --connection-arn ARN",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			p, _, err := newProvisioner(cmd, f, awsbackend.ProvisionOptions{Image: image, Out: w, ConnectionWait: wait})
			if err != nil {
				return err
			}
			plan, err := p.Plan(cmd.Context())
			if err != nil {
				return err
			}
			plan.Write(w)
			if plan.Changes() == 0 {
				return nil
			}
			if !yes && !confirm(cmd, "Apply these changes?") {
				return errors.New("apply cancelled: nothing was changed")
			}
			return p.Apply(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	cmd.Flags().StringVar(&image, "image", "", "image of the first task definition (default: the repository's :latest)")
	cmd.Flags().DurationVar(&wait, "wait-connection", 0, "how long to wait for the new GitHub connection's approval (0: stop and say where to approve it)")
	return cmd
}

func newAWSDestroyCommand(f *awsFlags) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:     "destroy",
		Short:   "Remove, in reverse order, the resources canaryflow created",
		Long:    "Deletes only resources carrying canaryflow's tags (canaryflow:managed-by), including the GitHub connection apply created; anything else with the same name, and a connection given with --connection-arn, is kept.",
		Example: "  canaryflow aws destroy --yes",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, ac, err := newProvisioner(cmd, f, awsbackend.ProvisionOptions{Out: cmd.OutOrStdout()})
			if err != nil {
				return err
			}
			if !yes && !confirm(cmd, fmt.Sprintf("Delete every AWS resource canaryflow created for %s in %s?", ac.spec.Service, ac.spec.Region)) {
				return errors.New("destroy cancelled: nothing was deleted")
			}
			return p.Destroy(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	return cmd
}

func newDeployer(cmd *cobra.Command, f *awsFlags) (*awsbackend.Deployer, error) {
	ac, err := loadAWS(cmd, f)
	if err != nil {
		return nil, err
	}
	c, err := ac.clients(cmd.Context(), f)
	if err != nil {
		return nil, err
	}
	return awsbackend.NewDeployer(c, ac.spec)
}

func newAWSDeployCommand(f *awsFlags) *cobra.Command {
	var image, description string
	var watch bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy an image as a blue/green canary through CodeDeploy (or ECS)",
		Long: `Registers a task definition revision with the image and creates a CodeDeploy
deployment whose AppSpec names it; with the ECS controller it updates the
service and ECS runs its own canary (the ID is then the service
deployment's ARN). --watch follows it in the same view as a local
deployment's --watch: lifecycle events, the production split between the
two task sets' target groups, their tasks and the alarms, until it ends;
it exits 1 unless the deployment succeeds.`,
		Example: "  canaryflow aws deploy --image 111122223333.dkr.ecr.us-west-2.amazonaws.com/hello:v1.2.3 --watch",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if image == "" {
				return usageErrorf("--image is required")
			}
			d, err := newDeployer(cmd, f)
			if err != nil {
				return err
			}
			id, err := d.Deploy(cmd.Context(), image, description)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Deployment %s started.\n", id)
			if !watch {
				return nil
			}
			if strings.Contains(id, ":task-definition/") {
				fmt.Fprintln(out, "ECS reports no service deployment for it yet: follow it with canaryflow aws status --watch.")
				return nil
			}
			return d.Watch(cmd.Context(), id, out, watchview.Options{Redraw: isTerminal(out), Interval: interval})
		},
	}
	cmd.Flags().StringVar(&image, "image", "", "image to deploy (required)")
	cmd.Flags().StringVar(&description, "description", "canaryflow aws deploy", "deployment description")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow the deployment until it ends")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "how often --watch looks")
	return cmd
}

func newAWSStatusCommand(f *awsFlags) *cobra.Command {
	var watch bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "status [DEPLOYMENT-ID]",
		Short: "Show a deployment: state, lifecycle events, task sets, traffic split, alarms",
		Long: `Shows the given deployment, or the service's newest one, in the same view as
canaryflow deploy status: CodeDeploy's status and lifecycle events (with
the ECS controller, the service deployment's status and lifecycle stage),
the production listener's split between blue and green, each task set's
running and healthy tasks, and the CloudWatch alarms on green. --watch
follows it until it ends: it redraws in a terminal and prints a line per
change otherwise; it exits 1 unless the deployment succeeds.`,
		Example: "  canaryflow aws status\n  canaryflow aws status d-ABCDEF123 --watch",
		Args:    usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := newDeployer(cmd, f)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			id, err := deploymentID(cmd, d, args)
			if err != nil || id == "" {
				return err
			}
			if watch {
				return d.Watch(cmd.Context(), id, out, watchview.Options{Redraw: isTerminal(out), Interval: interval})
			}
			st, err := d.Status(cmd.Context(), id)
			if err != nil {
				return err
			}
			watchview.Render(out, st, nil, 0)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow the deployment until it ends")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "how often --watch looks")
	return cmd
}

// deploymentID is the argument, or the newest deployment ("" after
// saying there is none).
func deploymentID(cmd *cobra.Command, d *awsbackend.Deployer, args []string) (string, error) {
	if id := firstArg(args); id != "" {
		return id, nil
	}
	id, err := d.Latest(cmd.Context())
	if err == nil && id == "" {
		fmt.Fprintln(cmd.OutOrStdout(), "No deployments yet.")
	}
	return id, err
}

func newAWSApproveCommand(f *awsFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "approve DEPLOYMENT-ID",
		Short: "Let a deployment waiting before production traffic continue",
		Long: `For deployments with ready.action STOP_DEPLOYMENT: CodeDeploy's
ContinueDeployment (READY_WAIT). With the ECS controller: ECS's
ContinueServiceDeployment on the lifecycle hook that awaits an action.`,
		Example: "  canaryflow aws approve d-ABCDEF123",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := newDeployer(cmd, f)
			if err != nil {
				return err
			}
			if err := d.Approve(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deployment %s continues.\n", args[0])
			return nil
		},
	}
}

func newAWSStopCommand(f *awsFlags) *cobra.Command {
	var noRollback bool
	cmd := &cobra.Command{
		Use:   "stop DEPLOYMENT-ID",
		Short: "Stop a deployment and send production traffic back to blue",
		Long: `CodeDeploy's StopDeployment with automatic rollback: all production traffic
returns to the original task set and the replacement is removed.
--no-rollback stops it where it is (CodeDeploy only: ECS stops a service
deployment only by rolling it back, with StopServiceDeployment ROLLBACK).`,
		Example: "  canaryflow aws stop d-ABCDEF123\n  canaryflow aws stop d-ABCDEF123 --no-rollback",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := newDeployer(cmd, f)
			if err != nil {
				return err
			}
			if err := d.Stop(cmd.Context(), args[0], !noRollback); err != nil {
				if errors.Is(err, awsbackend.ErrUnsupported) {
					return &usageError{err: err}
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deployment %s is stopping (rollback: %v).\n", args[0], !noRollback)
			return nil
		},
	}
	cmd.Flags().BoolVar(&noRollback, "no-rollback", false, "stop where it is, without rolling back")
	return cmd
}

func newAWSRollbackCommand(f *awsFlags) *cobra.Command {
	var watch bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Go back to the previous revision: stop the deployment in flight, or redeploy the one before",
		Long: `rollback does what canaryflow deploy rollback does locally:

  * a deployment in flight is stopped with rollback (CodeDeploy's
    StopDeployment with auto-rollback, or ECS's StopServiceDeployment
    ROLLBACK): production traffic returns to blue at once, green goes;
  * when none is in flight, the task definition revision before the one
    the service runs is deployed anew. Through CodeDeploy it goes all at
    once (CodeDeployDefault.ECSAllAtOnce), skipping the canary, as a local
    rollback does; with the ECS controller it follows the service's own
    strategy, since ECS has no per-deployment override.

--watch follows the new deployment (or the stopped one) until it ends.`,
		Example: "  canaryflow aws rollback\n  canaryflow aws rollback --watch",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := newDeployer(cmd, f)
			if err != nil {
				return err
			}
			rb, err := d.Rollback(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			id := rb.Stopped
			if id != "" {
				fmt.Fprintf(out, "Deployment %s was in flight: it is stopping with rollback.\n", id)
			} else {
				id = rb.Deployment
				fmt.Fprintf(out, "Deployment %s started: back to %s.\n", id, rb.PreviousTaskDefinition)
			}
			if !watch || strings.Contains(id, ":task-definition/") {
				return nil
			}
			return d.Watch(cmd.Context(), id, out, watchview.Options{Redraw: isTerminal(out), Interval: interval})
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow it until it ends")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "how often --watch looks")
	return cmd
}
