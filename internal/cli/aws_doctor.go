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
		Use:   "doctor [FILE...]",
		Short: "Check local files (and the account) for the release guide's failure classes",
		Long: `Reads every *.json, *.yml and *.yaml file under --dir (default: the
repository root), or the files given, and recognises each by what it holds,
whatever its name: task definition, ECS service, deployment group,
pipeline, CodeBuild project, AppSpec, buildspec, IAM permission or trust
policy, target group, alarm. It reports, each with the file, the line
where the format has lines, and exactly what to change:
a placeholder TaskDefinition CodeDeploy cannot parse; placeholders left in
(your-account-id, <…>, ${VAR}, ACCOUNT_ID, the sample account 123456789012
when the account is known); names that differ across the documents;
missing S3, ELB or ECS task-set permissions on the CodeDeploy role; a V1
pipeline or no tag trigger; the plain ECS (or CodeDeploy) action used for
blue/green; buildspec commands YAML reads as maps (CodeBuild's
YAML_FILE_ERROR); over-broad IAM policies and iam:PassRole without
iam:PassedToService; a pager that breaks the AWS CLI.
With --account it also checks the deployed CodeDeploy role and what apply
would change. Exits 1 when it finds anything, 2 when there is nothing to
check.`,
		Example: "  canaryflow aws doctor\n  canaryflow aws doctor --dir deploy --account\n  canaryflow aws doctor td.json svc.json dg.json",
		Args:    usageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			wd, err := workDir(cmd)
			if err != nil {
				return err
			}
			var spec *awsbackend.Spec
			knownAccount := ""
			ac, lerr := loadAWS(cmd, f)
			if lerr == nil {
				spec, knownAccount = &ac.spec, ac.spec.Account
				if spec.Region == "" || spec.Account == "" {
					spec = nil // ARNs unknown offline: check actions only
				}
				if dir == "" {
					dir = ac.dir
				}
			}
			// Files are named in findings as given; with --chdir they are
			// read from that directory.
			files := make([]string, len(args))
			chdir, _ := cmd.Flags().GetString("chdir")
			for i, a := range args {
				files[i] = a
				if chdir != "" && !filepath.IsAbs(a) {
					files[i] = filepath.Join(wd, a)
				}
			}
			if dir == "" && len(files) == 0 {
				dir = wd
			}
			docs, err := awsbackend.ReadDocuments(dir, files...)
			if err != nil {
				return err
			}
			if len(docs.All) == 0 && len(docs.Problems) == 0 && !account {
				return nothingToCheck(dir, files, docs.Read)
			}
			cfgText, _ := os.ReadFile(awsConfigPath())
			findings := awsbackend.Diagnose(docs, awsbackend.DoctorOptions{Spec: spec, Account: knownAccount, LookupEnv: os.LookupEnv, AWSConfig: string(cfgText)})
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

// nothingToCheck is doctor's usage error (exit 2) when no document was
// found: "No problems found" about nothing would pass a broken setup.
func nothingToCheck(dir string, files []string, read int) error {
	where := dir
	if _, err := os.Stat(dir); dir != "" && err != nil {
		where = dir + " (" + err.Error() + ")"
	}
	if len(files) > 0 {
		where = fmt.Sprintf("%d file(s) given", len(files))
		if dir != "" {
			where = dir + " and the " + where
		}
	}
	return usageErrorf("nothing to check in %s: of %d *.json, *.yml and *.yaml file(s), none is a task definition, ECS service, deployment group, pipeline, CodeBuild project, AppSpec, buildspec, IAM policy, target group or alarm; run `canaryflow aws render` to write them, or point --dir (or the arguments) at your own", where, read)
}

func awsConfigPath() string {
	if p := os.Getenv("AWS_CONFIG_FILE"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".aws", "config")
}
