package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/config"
)

// starterConfig is the commented canaryflow.yaml `init` writes; %[1]s is
// the service name.
const starterConfig = `# canaryflow.yaml — how this repository is released and deployed.
# Every key is optional except service.name; the values below are the defaults.

release:
  main_branch: main          # released code; tags are made here
  develop_branch: develop    # finished features collect here
  tag_prefix: v              # tags look like v1.2.3

service:
  name: %[1]s
  container:                 # the container that takes traffic (appspec LoadBalancerInfo)
    name: %[1]s
    port: 3000
  desired_count: 1           # tasks in each task set (blue and green)
  env: {}                    # added to every task's environment
  health_check:              # the router's active check, like an ALB target group's
    path: /healthz
    interval: 5s             # a new target: at once, then every 250ms until it first passes
    timeout: 2s
    healthy_threshold: 2
    unhealthy_threshold: 2
    success_codes: "200-399"
  listeners:
    production_port: 8080    # production traffic, split blue/green by weight
    test_port: 8081          # test traffic, always green (AllowTestTraffic)
  # One of CodeDeploy's ECS configs:
  #   CodeDeployDefault.ECSCanary10Percent5Minutes   CodeDeployDefault.ECSCanary10Percent15Minutes
  #   CodeDeployDefault.ECSLinear10PercentEvery1Minutes   CodeDeployDefault.ECSLinear10PercentEvery3Minutes
  #   CodeDeployDefault.ECSAllAtOnce
  # or a custom one; locally the interval may be seconds:
  #   deployment_config: {type: TimeBasedCanary, percent: 10, interval: 30s}
  deployment_config: CodeDeployDefault.ECSCanary10Percent5Minutes
  ready:
    action: CONTINUE_DEPLOYMENT   # or STOP_DEPLOYMENT: wait for 'canaryflow deploy approve'
    wait: 1h                      # how long STOP_DEPLOYMENT waits before stopping
  termination_wait: 5m       # blue keeps running this long after all traffic is on green
  alarms:                    # over the router's metrics for green, from Install until blue is gone
    period: 10s
    evaluation_periods: 3
    datapoints_to_alarm: 2
    error_rate_percent: 5
    # p99_latency: 500ms
    unhealthy_targets: 1
    min_requests: 10         # fewer requests in a period is missing data, never "healthy"
    min_errors: 3            # fewer 5xx in a period never breach (small-sample noise)
    treat_missing_data: missing   # or breaching: a canary without traffic fails
    promote_without_traffic: false   # true: a canary step moves on after its interval even with fewer than min_requests
  auto_rollback:
    events: [DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM, DEPLOYMENT_STOP_ON_REQUEST]
  hooks:                     # appspec hook functions (Lambdas on AWS) run locally
    SmokeTest:                # argv, never a shell; $CANARYFLOW_TEST_URL and $CANARYFLOW_PRODUCTION_URL
      command: [curl, --fail, --silent, "$CANARYFLOW_TEST_URL"]     # follow the listeners' ports
      timeout: 30s
    # Another: {url: "http://127.0.0.1:9000/hook", timeout: 60s}
  runtime: auto              # docker when an engine answers, else process; or force one
  keep_images: 30            # local registry: newest N images per repository (running ones always kept)
`

const starterAppSpec = `# appspec.yaml in AWS CodeDeploy's ECS format, read as it is by canaryflow.
version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "<TASK_DEFINITION>"
        LoadBalancerInfo:
          ContainerName: "%[1]s"
          ContainerPort: 3000
Hooks:
  - AfterAllowTestTraffic: "SmokeTest"
`

const starterTaskDef = `{
  "family": "%[1]s",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": "512",
  "containerDefinitions": [
    {
      "name": "%[1]s",
      "image": "<IMAGE1_NAME>",
      "essential": true,
      "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
      "environment": [{"name": "PORT", "value": "3000"}]
    }
  ]
}
`

var nameCleaner = regexp.MustCompile(`[^a-z0-9-]+`)

func newInitCommand() *cobra.Command {
	var name string
	var force, withAWS, withPipeline bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented canaryflow.yaml, appspec.yaml and taskdef.json",
		Long: `init writes starter files into the repository root: canaryflow.yaml with
every setting commented, and an appspec.yaml and taskdef.json in AWS's ECS
formats that canaryflow reads as they are. Existing files are kept unless
--force.

--pipeline adds the local pipeline section (a tag on main → build → deploy)
and --aws the aws section (the same release on AWS), both commented; given
alone, to a repository that has a canaryflow.yaml, they add their sections
to it and touch nothing else.`,
		Example: `  canaryflow init --name hello
  canaryflow init --pipeline --aws`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := workDir(cmd)
			if err != nil {
				return err
			}
			if name == "" {
				abs, _ := filepath.Abs(dir)
				name = strings.Trim(nameCleaner.ReplaceAllString(strings.ToLower(filepath.Base(abs)), "-"), "-")
			}
			cfgPath := filepath.Join(dir, config.FileName)
			if existing, err := os.ReadFile(cfgPath); err == nil && !force && (withAWS || withPipeline) {
				add, err := initSections(string(existing), withAWS, withPipeline)
				if err != nil {
					return err
				}
				text := string(existing)
				if !strings.HasSuffix(text, "\n") {
					text += "\n"
				}
				text += add
				if _, err := config.Parse(config.FileName, []byte(text)); err != nil {
					return usageErrorf("init: canaryflow.yaml with the new sections does not read back (%v); nothing was changed", err)
				}
				if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
					return fmt.Errorf("init: %w", err)
				}
				var added []string
				if withAWS {
					added = append(added, "the aws section")
				}
				if withPipeline {
					added = append(added, "the pipeline section")
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added %s to %s\n", strings.Join(added, " and "), config.FileName)
				fmt.Fprint(cmd.OutOrStdout(), initHint(withAWS, withPipeline))
				return nil
			}
			add, err := initSections("", withAWS, withPipeline)
			if err != nil {
				return err
			}
			files := []struct{ name, text string }{
				{config.FileName, fmt.Sprintf(starterConfig, name) + add},
				{awsfmt.AppSpecFileName, fmt.Sprintf(starterAppSpec, name)},
				{awsfmt.TaskDefFileName, fmt.Sprintf(starterTaskDef, name)},
			}
			// Check everything first, so a bad name writes nothing.
			if _, err := config.Parse(config.FileName, []byte(files[0].text)); err != nil {
				return usageErrorf("init: --name %q: %v", name, err)
			}
			for _, f := range files {
				if _, err := os.Stat(filepath.Join(dir, f.name)); err == nil && !force {
					return usageErrorf("init: %s exists; keep it, or overwrite with --force", f.name)
				} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			for _, f := range files {
				if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.text), 0o644); err != nil {
					return fmt.Errorf("init: %w", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", f.name)
			}
			fmt.Fprint(cmd.OutOrStdout(), initHint(withAWS, withPipeline))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "service name (default: the directory's name)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	cmd.Flags().BoolVar(&withAWS, "aws", false, "add the aws section (the same release on AWS)")
	cmd.Flags().BoolVar(&withPipeline, "pipeline", false, "add the local pipeline section (tag → build → deploy)")
	return cmd
}
