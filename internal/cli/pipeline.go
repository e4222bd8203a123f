package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/pipeline"
)

func newPipelineCommand() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Pipeline executions: a pushed release tag → Build → Deploy",
		Long: `The daemon's local CodePipeline. With a pipeline section in canaryflow.yaml,
` + "`canaryflow up`" + ` watches the source for new release tags (strict SemVer, on
main) and runs an execution for each: a clean checkout, ` + "`canaryflow version\ncheck`" + `, the repository's .buildspec.yml, the image pushed to the embedded
registry, then a blue/green deployment. These commands talk to that daemon.`,
		Example: `  canaryflow pipeline list
  canaryflow pipeline show e-000003
  canaryflow pipeline start --tag v1.2.3
  canaryflow pipeline logs e-000003 --follow`,
	}
	af.register(cmd)

	list := &cobra.Command{
		Use: "list",
		Example: `  canaryflow pipeline list
  canaryflow pipeline list -o json`,
		Short: "List executions, newest first",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			es, err := c.Executions(cmd.Context())
			if err != nil {
				return err
			}
			if es == nil {
				es = []pipeline.Execution{} // a list is [], never null
			}
			return af.print(cmd.OutOrStdout(), es, func() {
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTAG\tSTATUS\tSTAGES\tSTARTED\tDURATION\tDEPLOYMENT")
				for _, e := range es {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Tag, e.Status, e.StageSummary(),
						e.Start.Local().Format("15:04:05"), duration(e), dash(e.DeploymentID))
				}
				tw.Flush()
				if len(es) == 0 {
					fmt.Fprintln(cmd.ErrOrStderr(), "No executions yet: push a release tag, or run `canaryflow pipeline start --tag vX.Y.Z`.")
				}
			})
		},
	}
	show := &cobra.Command{
		ValidArgsFunction: completeExecutions(&af),
		Use:               "show ID",
		Example: `  canaryflow pipeline show e-000003
  canaryflow pipeline show e-000003 -o yaml`,
		Short: "Show one execution: stages, times, image, deployment, error",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			e, err := c.Execution(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return af.print(cmd.OutOrStdout(), e, func() { printExecution(cmd.OutOrStdout(), e) })
		},
	}
	var tag string
	start := &cobra.Command{
		Use:     "start --tag vX.Y.Z",
		Example: `  canaryflow pipeline start --tag v1.2.3`,
		Short:   "Run the pipeline for a tag (idempotent: a running or succeeded one is returned)",
		Long: `Runs an execution for a tag that is already on the source, with the same
checks as a pushed tag (strict SemVer, the trigger's filters, its commit on
main). Re-running a tag whose execution is in progress or succeeded returns
that execution; a failed one runs again.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tag == "" {
				return usageErrorf("--tag is required, e.g. --tag v1.2.3")
			}
			if strings.HasPrefix(tag, "-") {
				return usageErrorf("--tag %q looks like an option, not a tag", tag)
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			e, err := c.StartExecution(cmd.Context(), tag)
			if err != nil {
				return err
			}
			return af.print(cmd.OutOrStdout(), e, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %s (follow it: canaryflow pipeline logs %s --follow)\n", e.ID, e.Tag, e.Status, e.ID)
			})
		},
	}
	start.Flags().StringVar(&tag, "tag", "", "the release tag to run, e.g. v1.2.3")
	var follow bool
	logs := &cobra.Command{
		ValidArgsFunction: completeExecutions(&af),
		Use:               "logs ID",
		Example: `  canaryflow pipeline logs e-000003
  canaryflow pipeline logs e-000003 --follow`,
		Short: "Print an execution's log (secrets redacted); --follow until it ends",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			rc, err := c.ExecutionLogs(cmd.Context(), args[0], follow)
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(cmd.OutOrStdout(), rc)
			return err
		},
	}
	logs.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing until the execution ends")
	cmd.AddCommand(list, show, start, logs)
	return cmd
}

func duration(e pipeline.Execution) string {
	end := e.End
	if end.IsZero() {
		end = time.Now()
	}
	return end.Sub(e.Start).Round(100 * time.Millisecond).String()
}

func printExecution(w io.Writer, e *pipeline.Execution) {
	fmt.Fprintf(w, "Execution:   %s\n", e.ID)
	fmt.Fprintf(w, "Tag:         %s (%s at %s)\n", e.Tag, e.Version, e.Commit)
	fmt.Fprintf(w, "Trigger:     %s\n", e.Trigger)
	fmt.Fprintf(w, "Status:      %s (%s)\n", e.Status, duration(*e))
	if e.Image != "" {
		fmt.Fprintf(w, "Image:       %s\n", e.Image)
	}
	if e.DeploymentID != "" {
		fmt.Fprintf(w, "Deployment:  %s (canaryflow deploy status %s)\n", e.DeploymentID, e.DeploymentID)
	}
	if e.Error != "" {
		fmt.Fprintf(w, "Error:       %s\n", e.Error)
	}
	fmt.Fprintln(w, "Stages:")
	for _, s := range e.Stages {
		took := ""
		if !s.Start.IsZero() && !s.End.IsZero() {
			took = s.End.Sub(s.Start).Round(10 * time.Millisecond).String()
		}
		fmt.Fprintf(w, "  %-8s %-11s %s", s.Name, s.Status, took)
		if s.Error != "" {
			fmt.Fprintf(w, "  %s", s.Error)
		}
		fmt.Fprintln(w)
	}
}
