package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/demo"
)

// newDemoCommand builds `canaryflow demo`: its flags become demo.Options,
// and package demo runs the rest.
func newDemoCommand() *cobra.Command {
	o := demo.Options{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The whole release process on this machine: Gitflow tags → build → canary → rollback",
		Long: `Runs the release guide end to end in a temporary workspace, in about a minute:

  1. a repository for examples/hello with a bare origin, and the local stack
     (registry, runtime, router, deployment controller, pipeline) started;
  2. v1.0.0 released with the Gitflow commands: the tag is built and deployed;
  3. a feature, then v1.1.0: a 10% canary, then 100%, while a built-in load
     generator shows the live split and error rate;
  4. v1.2.0 with a bug: its error rate climbs, the alarm fires and the
     deployment rolls back by itself;
  5. a summary with the measured times (tag → canary, fault → rollback).

Everything runs on loopback; nothing leaves the machine. The workspace is
removed at the end unless --keep is given.`,
		Example: "  canaryflow demo\n  canaryflow demo --runtime process --keep",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return &usageError{err: err}
			}
			out := cmd.OutOrStdout()
			o.Redraw = isTerminal(out)
			self, err := selfPath()
			if err != nil {
				return err
			}
			o.Hook = []string{self} // the origin's pre-receive hook runs this canaryflow
			return demo.Run(cmd.Context(), o, out)
		},
	}
	cmd.Flags().BoolVar(&o.Keep, "keep", false, "keep the workspace (repository, state, logs) afterwards")
	cmd.Flags().StringVar(&o.Runtime, "runtime", "auto", "task runtime: auto (docker when an engine answers), docker or process")
	cmd.Flags().IntVar(&o.RPS, "rps", 200, "load generator's request rate on the production listener")
	cmd.Flags().StringVar(&o.Dir, "dir", "", "create the workspace under this directory (default: the system's temp dir)")
	cmd.Flags().DurationVar(&o.Canary, "canary", 10*time.Second, "how long the 10% canary bakes before the rest of the traffic moves")
	return cmd
}
