package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	awsbackend "github.com/canaryflow/canaryflow/internal/aws"
)

func newAWSRenderCommand(f *awsFlags) *cobra.Command {
	var out string
	var live, force bool
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

A file that already exists with other content (a hand-edited taskdef.json
or appspec.yaml) is not overwritten: render lists such files and writes
nothing unless given --force.

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
						return usageErrorf("render needs the region and account: set aws.region and aws.account in canaryflow.yaml, or give credentials (%v)", awsbackend.Explain(err, f.profile))
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
			if !force {
				differ, err := b.Differing(out)
				if err != nil {
					return err
				}
				if len(differ) > 0 {
					return usageErrorf("render would overwrite %d file(s) in %s that differ from what it writes (edited by hand, or rendered from other settings): %s; nothing was written. Compare them (git diff after render --force, or render --out DIR elsewhere), then run render --force to overwrite",
						len(differ), out, strings.Join(differ, ", "))
				}
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
	cmd.Flags().BoolVar(&force, "force", false, "overwrite files that differ from what render writes")
	return cmd
}
