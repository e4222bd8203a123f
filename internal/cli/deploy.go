package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/server"
	"github.com/canaryflow/canaryflow/internal/userfile"
	"github.com/canaryflow/canaryflow/internal/watchview"
)

// apiFlags locate the daemon: --api and --token, else the environment,
// else daemon.json in the state directory. Without --token or
// $CANARYFLOW_TOKEN, the token is the daemon's (daemon.json, else the
// state directory's api-token), and only for a daemon on loopback.
type apiFlags struct {
	local localFlags
	addr  string
	token string
	output
	connect time.Duration
}

func (f *apiFlags) register(cmd *cobra.Command) {
	f.local.register(cmd)
	cmd.PersistentFlags().StringVar(&f.addr, "api", "", "daemon API address (default $CANARYFLOW_API, else daemon.json in the state directory)")
	cmd.PersistentFlags().StringVar(&f.token, "token", "", "daemon API token (default $CANARYFLOW_TOKEN, else daemon.json)")
	f.output.register(cmd, true)
	cmd.PersistentFlags().DurationVar(&f.connect, "connect-timeout", 0, "wait up to this long for a daemon that is starting")
}

func (f *apiFlags) client() (*server.Client, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	c := &server.Client{Addr: f.addr, Token: f.token}
	if c.Addr == "" {
		c.Addr = os.Getenv("CANARYFLOW_API")
	}
	if c.Token == "" {
		c.Token = os.Getenv("CANARYFLOW_TOKEN")
	}
	if c.Addr != "" {
		// A daemon on this machine: this user's token, if it has one.
		// Another machine never gets it.
		if c.Token == "" && checkLoopback(c.Addr) == nil {
			if dir, err := f.local.resolveStateDir(); err == nil {
				c.Token, _ = server.ReadToken(dir)
			}
		}
		return c, nil
	}
	dir, err := f.local.resolveStateDir()
	if err != nil {
		return nil, err
	}
	// A daemon that is starting has no info file yet, and one killed
	// with -9 leaves a stale one: with --connect-timeout, wait for an
	// info file whose daemon answers.
	deadline := time.Now().Add(f.connect)
	for {
		info, err := server.ReadInfo(dir)
		if err == nil {
			c.Addr = info.API
			if f.token == "" && os.Getenv("CANARYFLOW_TOKEN") == "" {
				c.Token = info.Token
				if c.Token == "" {
					c.Token, _ = server.ReadToken(dir)
				}
			}
			if f.connect == 0 {
				return c, nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err = c.Status(ctx)
			cancel()
			if err == nil {
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func newDeployCommand() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Create, watch, approve, promote, stop and roll back blue/green deployments",
		Long: `deploy talks to the running daemon (canaryflow up). A deployment starts a
green task set beside blue, runs the hooks, opens the test listener, shifts
production traffic by the service's deployment config, watches the alarms
and rolls back by itself, with CodeDeploy's lifecycle events and statuses.`,
		Example: `  canaryflow deploy create --image hello:v1.2.3
  canaryflow deploy status --watch
  canaryflow deploy stop d-000003`,
	}
	af.register(cmd)
	cmd.AddCommand(newDeployCreateCommand(&af), newDeployListCommand(&af), newDeployStatusCommand(&af),
		newDeployApproveCommand(&af), newDeployStopCommand(&af), newDeployPromoteCommand(&af),
		newDeployRollbackCommand(&af))
	return cmd
}

func newDeployCreateCommand(af *apiFlags) *cobra.Command {
	var image, appspec, taskdef string
	var queue, wait bool
	cmd := &cobra.Command{
		Use:   "create (--image REF | --appspec appspec.yaml [--taskdef taskdef.json])",
		Short: "Start a deployment of an image or of an AWS appspec",
		Long: `create registers a revision and starts a deployment of it. Give an image
of canaryflow's registry (hello:v1.2.3) or any reference, or an appspec.yaml
in AWS's ECS format (its hooks name functions defined in canaryflow.yaml's
service.hooks) with a taskdef.json in ECS's format; --image fills the
task definition's <IMAGE1_NAME> placeholder.

A service runs one deployment at a time: a second is refused, or queued
with --queue.

Its settings (deployment config, ready wait, termination wait, alarms,
hooks) come from canaryflow.yaml as canaryflow up loaded it (SIGHUP reads
it again); a release the pipeline deploys takes them from its own tagged
commit. deploy status shows which.`,
		Example: `  canaryflow deploy create --image hello:v1.2.3
  canaryflow deploy create --appspec appspec.yaml --taskdef taskdef.json --image hello:v1.2.3 --wait`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if image == "" && appspec == "" {
				return usageErrorf("deploy create: give --image or --appspec")
			}
			if taskdef != "" && appspec == "" && image == "" {
				return usageErrorf("deploy create: --taskdef needs --appspec or --image")
			}
			req := server.CreateRequest{Image: image, Queue: queue}
			for _, f := range []struct{ path, into, name *string }{{&appspec, &req.AppSpec, &req.AppSpecName}, {&taskdef, &req.TaskDef, &req.TaskDefName}} {
				if *f.path == "" {
					continue
				}
				data, err := userfile.Read(*f.path)
				if err != nil {
					return usageErrorf("deploy create: %v", err)
				}
				*f.into, *f.name = string(data), *f.path
			}
			// Check the AWS files here too, so a typo is reported with its
			// line before the daemon is involved.
			if appspec != "" {
				if _, err := awsfmt.ParseAppSpec(appspec, []byte(req.AppSpec)); err != nil {
					return err
				}
			}
			if taskdef != "" {
				if _, err := awsfmt.ParseTaskDef(taskdef, []byte(req.TaskDef)); err != nil {
					return err
				}
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			d, err := c.Create(cmd.Context(), req)
			if err != nil {
				return err
			}
			if wait {
				return watchDeployment(cmd, af, c, d.ID)
			}
			return af.print(cmd.OutOrStdout(), d, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\trevision %d\n", d.ID, d.Status, d.Revision)
			})
		},
	}
	cmd.Flags().StringVar(&image, "image", "", "image to deploy")
	cmd.Flags().StringVar(&appspec, "appspec", "", "ECS appspec.yaml")
	cmd.Flags().StringVar(&taskdef, "taskdef", "", "ECS taskdef.json")
	cmd.Flags().BoolVar(&queue, "queue", false, "queue behind a deployment in progress instead of refusing")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the deployment until it ends; exit 1 unless it succeeds")
	return cmd
}

func newDeployListCommand(af *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the service's deployments, newest first",
		Long:  `list shows every deployment of the service with its status and revision.`,
		Example: `  canaryflow deploy list
  canaryflow deploy list -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			ds, err := c.List(cmd.Context())
			if err != nil {
				return err
			}
			if ds == nil {
				ds = []deploy.Deployment{} // a list is [], never null
			}
			return af.print(cmd.OutOrStdout(), ds, func() {
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATUS\tREVISION\tFROM\tGREEN\tCREATED\tERROR")
				for i := len(ds) - 1; i >= 0; i-- {
					d := ds[i]
					errMsg := ""
					if d.Error != nil {
						errMsg = d.Error.Code
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d%%\t%s\t%s\n", d.ID, d.Status, d.Revision, d.PreviousRevision,
						d.GreenPercent, d.Created.Local().Format(time.DateTime), errMsg)
				}
				tw.Flush()
			})
		},
	}
}

func newDeployStatusCommand(af *apiFlags) *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:               "status [ID]",
		ValidArgsFunction: completeDeployments(af),
		Short:             "Show a deployment: lifecycle events, traffic split, request and error rates",
		Long: `status shows a deployment (default: the newest) with its lifecycle events,
a bar of the production traffic split, each version's requests and errors,
and the alarm state. --watch follows it until it ends: it redraws in a
terminal and prints a plain line per change otherwise; it exits 1 unless
the deployment succeeds.

--watch with no ID follows the newest deployment in progress. When none
runs yet but a pipeline execution is in Source or Build (as right after a
tag push), or there is no deployment at all, it prints "waiting for a
deployment…" with the execution's stage and follows the deployment once it
starts. With nothing in progress and no execution running it says so and
shows the latest deployment once.`,
		Example: `  canaryflow deploy status
  canaryflow deploy status d-000002 --watch`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := "latest"
			if len(args) == 1 {
				id = args[0]
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			if watch && af.format == "yaml" {
				return usageErrorf("--watch prints text or json (one JSON document a line); not yaml")
			}
			if watch && len(args) == 0 {
				return watchNewest(cmd, af, c)
			}
			if watch {
				return watchDeployment(cmd, af, c, id)
			}
			v, err := c.Get(cmd.Context(), id)
			if err != nil {
				return err
			}
			return af.print(cmd.OutOrStdout(), v, func() {
				look := localView(v)
				look.Now = time.Now()
				watchview.Render(cmd.OutOrStdout(), look, nil, 0)
			})
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow the deployment until it ends")
	return cmd
}

func newDeployApproveCommand(af *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:               "approve ID",
		ValidArgsFunction: completeDeployments(af),
		Short:             "Continue a deployment waiting in its ready wait (CONTINUE_DEPLOYMENT)",
		Long: `approve lets a deployment whose ready option is STOP_DEPLOYMENT shift
production traffic. It may be given before the wait starts.`,
		Example: `  canaryflow deploy approve d-000004`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			v, err := c.Approve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return af.print(cmd.OutOrStdout(), v, func() { fmt.Fprintf(cmd.OutOrStdout(), "approved %s\n", args[0]) })
		},
	}
}

func newDeployStopCommand(af *apiFlags) *cobra.Command {
	var noRollback bool
	cmd := &cobra.Command{
		Use:               "stop ID",
		ValidArgsFunction: completeDeployments(af),
		Short:             "Stop a deployment; production traffic returns to blue unless --no-rollback",
		Long: `stop ends a deployment with status Stopped. By default it rolls back: all
production traffic returns to blue in one router change and green is
drained and stopped. --no-rollback leaves traffic and task sets as they are.`,
		Example: `  canaryflow deploy stop d-000003
  canaryflow deploy stop d-000003 --no-rollback`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			v, err := c.Stop(cmd.Context(), args[0], !noRollback)
			if err != nil {
				return err
			}
			return af.print(cmd.OutOrStdout(), v, func() { fmt.Fprintf(cmd.OutOrStdout(), "stopping %s\n", args[0]) })
		},
	}
	cmd.Flags().BoolVar(&noRollback, "no-rollback", false, "leave traffic and task sets as they are")
	return cmd
}

func newDeployRollbackCommand(af *apiFlags) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Go back to the previous good revision (or --to a version) at once, skipping the bake",
		Long: `rollback stops the deployment in progress with rollback, or, when none
runs, deploys the revision that succeeded before the live one all at once
(no ready wait, no termination wait).

With --to VERSION it deploys that earlier version instead (as its
revision's VERSION or image tag says it, with or without a leading "v",
or a revision number), all at once; it is refused while a deployment is
in progress and when that version is the live one.`,
		Example: `  canaryflow deploy rollback
  canaryflow deploy rollback --to 1.2.0`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			var d *deploy.Deployment
			if to != "" {
				d, err = c.RollbackTo(cmd.Context(), to)
			} else {
				d, err = c.Rollback(cmd.Context())
			}
			if err != nil {
				return err
			}
			return af.print(cmd.OutOrStdout(), d, func() {
				// Name the versions, not only revision numbers.
				to, from := fmt.Sprintf("revision %d", d.Revision), fmt.Sprintf("revision %d", d.PreviousRevision)
				if v, err := c.Get(cmd.Context(), d.ID); err == nil {
					to, from = withImage(to, v.Image), withImage(from, v.PreviousImage)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\trolling back to %s, from %s\n", d.ID, d.Status, to, from)
				fmt.Fprintf(cmd.OutOrStdout(), "Follow it: canaryflow deploy status %s --watch\n", d.ID)
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the earlier version to go back to (default: the previous good revision)")
	return cmd
}

func newDeployPromoteCommand(af *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "promote ID",
		Short: "Move all production traffic to the new version now, skipping the rest of the canary",
		Long: `promote approves a ready wait and skips the canary or linear steps left
and their waits: production traffic moves to the new version at once (as
CodeDeploy's "reroute traffic" and kubectl argo rollouts promote --full).
Alarms are still watched and the termination wait still keeps the old
version, so a rollback stays a weight change.`,
		Example: `  canaryflow deploy promote d-000004`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			v, err := c.Promote(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return af.print(cmd.OutOrStdout(), v, func() { fmt.Fprintf(cmd.OutOrStdout(), "promoted %s\n", args[0]) })
		},
	}
}

// withImage adds an image to a revision: "revision 2 (hello:v1.0.0)".
func withImage(rev, image string) string {
	if image == "" {
		return rev
	}
	return rev + " (" + image + ")"
}

// isTerminal reports whether w is a character device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// watchDeployment follows a deployment until it ends, in the view every
// backend shares (watchview).
func watchDeployment(cmd *cobra.Command, af *apiFlags, c *server.Client, id string) error {
	out := cmd.OutOrStdout()
	get := func(ctx context.Context) (*watchview.Deployment, error) {
		v, err := c.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		id = v.Deployment.ID
		return localView(v), nil
	}
	if af.format == "yaml" {
		return usageErrorf("--watch prints text or json (one JSON document a line); not yaml")
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	opts := watchview.Options{JSON: af.format == "json", Redraw: isTerminal(out) && af.format == "text"}
	if opts.Changes = daemonChanges(ctx, c); opts.Changes != nil {
		opts.Interval = counterRefresh
	}
	err := watchview.Watch(ctx, out, get, opts)
	if err != nil && cmd.Context().Err() != nil && errors.Is(err, context.Canceled) {
		return &interruptedError{msg: fmt.Sprintf("interrupted; deployment %[1]s keeps running in the daemon.\n"+
			"  Follow it again: canaryflow deploy status %[1]s --watch\n"+
			"  Stop it:         canaryflow deploy stop %[1]s", id)}
	}
	return err
}
