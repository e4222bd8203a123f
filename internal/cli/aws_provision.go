package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	awsbackend "github.com/canaryflow/canaryflow/internal/aws"
)

// planDoc is `aws plan -o json`.
type planDoc struct {
	Changes int           `json:"changes"` // items that are not unchanged
	Items   []planItemDoc `json:"items"`
}

type planItemDoc struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Change string `json:"change"`
	Detail string `json:"detail,omitempty"`
}

func newPlanDoc(p *awsbackend.Plan) planDoc {
	doc := planDoc{Changes: p.Changes(), Items: []planItemDoc{}}
	for _, it := range p.Items {
		doc.Items = append(doc.Items, planItemDoc{Kind: it.Kind, Name: it.Name, Change: string(it.Change), Detail: it.Detail})
	}
	return doc
}

func newAWSPlanCommand(f *awsFlags) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:     "plan",
		Short:   "Show what exists and what apply would create or change",
		Long:    "Reads every resource canaryflow manages, in dependency order, and says for each: create, update (and what differs), unchanged, or manual.",
		Example: "  canaryflow aws plan\n  canaryflow aws plan -o json",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			p, _, err := newProvisioner(cmd, f, awsbackend.ProvisionOptions{})
			if err != nil {
				return err
			}
			plan, err := p.Plan(cmd.Context())
			if err != nil {
				return err
			}
			return out.print(cmd.OutOrStdout(), newPlanDoc(plan), func() { plan.Write(cmd.OutOrStdout()) })
		},
	}
	out.register(cmd, false)
	return cmd
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
