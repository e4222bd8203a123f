package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	awsbackend "github.com/canaryflow/canaryflow/internal/aws"
)

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
