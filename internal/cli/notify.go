package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/git"
	"github.com/canaryflow/canaryflow/internal/notify"
	"github.com/canaryflow/canaryflow/internal/server"
)

func newNotifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Check the notification targets of canaryflow.yaml",
		Long: `notify works with canaryflow.yaml's notifications list: the targets the
daemon posts pipeline and deployment events to, as Slack's incoming-webhook
JSON or as CloudEvents-style JSON signed with HMAC-SHA256
(X-Canaryflow-Signature: sha256=<hex>, keyed with the variable the target's
secret_env names, CANARYFLOW_NOTIFY_SECRET by default).

Example:
  canaryflow notify test`,
	}
	cmd.AddCommand(newNotifyTestCommand())
	return cmd
}

func newNotifyTestCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "test",
		Short: "Send a sample notification to every target now",
		Long: `test posts one sample notification to each target of canaryflow.yaml's
notifications list, from this machine and without the daemon, and says
how each answered. It exits 1 when any target did not answer 2xx.`,
		Example: `  canaryflow notify test`,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := workDir(cmd)
			if err != nil {
				return err
			}
			root := dir
			if repo, err := git.Open(cmd.Context(), dir); err == nil {
				root = repo.Dir
			}
			cfg, err := loadConfig(cmd, root)
			if err != nil {
				return err
			}
			if len(cfg.Notifications) == 0 {
				return usageErrorf("canaryflow.yaml has no notifications: add a list of targets (url, format, events)")
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			failed := 0
			for _, t := range server.NotifyTargets(cfg.Notifications, os.Getenv, log) {
				if err := notify.Test(cmd.Context(), t, time.Now()); err != nil {
					failed++
					fmt.Fprintf(cmd.OutOrStdout(), "%s (%s): %v\n", t.Host(), t.Format, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s (%s): delivered\n", t.Host(), t.Format)
			}
			if failed > 0 {
				return errors.New(fmt.Sprint(failed, " of ", len(cfg.Notifications), " targets did not take the sample"))
			}
			return nil
		},
	}
}
