package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	awsbackend "github.com/canaryflow/canaryflow/internal/aws"
	"github.com/canaryflow/canaryflow/internal/watchview"
)

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
	var out output
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
		Example: "  canaryflow aws status\n  canaryflow aws status d-ABCDEF123 --watch\n  canaryflow aws status -o json",
		Args:    usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			if watch && out.format == "yaml" {
				return usageErrorf("--watch prints text or json (one JSON document a line); not yaml")
			}
			d, err := newDeployer(cmd, f)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			id, err := deploymentID(cmd, d, args)
			if err != nil || id == "" {
				return err
			}
			if watch {
				return d.Watch(cmd.Context(), id, w, watchview.Options{JSON: out.format == "json",
					Redraw: isTerminal(w) && out.format == "text", Interval: interval})
			}
			st, err := d.Status(cmd.Context(), id)
			if err != nil {
				return err
			}
			if st.Events == nil {
				st.Events = []watchview.Event{} // a list is [], never null
			}
			return out.print(w, st, func() { watchview.Render(w, st, nil, 0) })
		},
	}
	out.register(cmd, false)
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
		fmt.Fprintln(cmd.ErrOrStderr(), "No deployments yet: canaryflow aws deploy starts one.")
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
