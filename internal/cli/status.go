package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/deploy"
)

func newStatusCommand() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the services, their live versions and the production traffic split",
		Long: `status asks the running daemon for each service's live revision, its task
sets and the router's current weights, and the changes to
canaryflow.yaml that wait for a restart of canaryflow up (after SIGHUP).`,
		Example: `  canaryflow status
  canaryflow status -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if st.Services == nil {
				st.Services = []deploy.ServiceStatus{} // a list is [], never null
			}
			return af.print(cmd.OutOrStdout(), st, func() {
				w := cmd.OutOrStdout()
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SERVICE\tLIVE REVISION\tTASK SETS\tACTIVE DEPLOYMENT")
				for _, s := range st.Services {
					sets := ""
					for _, ts := range s.TaskSets {
						sets += fmt.Sprintf("%s(rev %d, %s, %d tasks) ", ts.ID, ts.Revision, ts.Status, len(ts.Tasks))
					}
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", s.Service, s.LiveRevision, sets, orDefault(s.Active, "-"))
				}
				tw.Flush()
				if len(st.Services) == 0 {
					fmt.Fprintln(w, "No deployment yet. Start one: canaryflow deploy create --image REPO:TAG (canaryflow image ls lists the images),\nor push a release tag when canaryflow.yaml has a pipeline section.")
				}
				t := st.Traffic
				fmt.Fprintf(w, "Traffic  blue %5.1f%% %s %5.1f%% green\n", 100-t.GreenPercent, trafficBar(t.GreenPercent, 40), t.GreenPercent)
				fmt.Fprintf(w, "  blue  %-10s %d requests, %d errors\n", t.Blue.TaskSet, t.Blue.Requests, t.Blue.Errors)
				fmt.Fprintf(w, "  green %-10s %d requests, %d errors\n", t.Green.TaskSet, t.Green.Requests, t.Green.Errors)
				if r := st.Router; r != nil {
					fmt.Fprintf(w, "Router   PID %d on %s (test %s), up since %s\n", r.PID, r.Listen, orDefault(r.TestListen, "-"), r.Started.Local().Format(time.DateTime))
				}
				if c := st.Config; c != nil {
					if c.LastError != "" {
						fmt.Fprintf(w, "The last SIGHUP's canaryflow.yaml was refused, nothing changed: %s\n", c.LastError)
					}
					for _, p := range c.PendingRestart {
						fmt.Fprintf(w, "%s: restart canaryflow up to apply\n", p)
					}
				}
			})
		},
	}
	af.register(cmd)
	return cmd
}
