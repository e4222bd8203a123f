package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/server"
)

// Shell completion for arguments that name something that exists: the
// open feature, release and hotfix branches for flow's finish commands, and
// the daemon's deployments and executions. The -o values are completed by
// completeOutputFlags. A completion that cannot look (no repository, no
// daemon) offers nothing rather than file names.

type completer = func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective)

// completeBranches completes the first argument with the names of the open
// branches of one kind, without their prefix ("login" for feature/login),
// as the finish commands take them.
func completeBranches(prefixOf func(cmd *cobra.Command) (string, bool)) completer {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		none := cobra.ShellCompDirectiveNoFileComp
		if len(args) > 0 {
			return nil, none
		}
		ctx, cancel := completionContext(cmd)
		defer cancel()
		_, repo, err := openFlow(ctx, cmd)
		if err != nil {
			return nil, none
		}
		prefix, ok := prefixOf(cmd)
		if !ok {
			return nil, none
		}
		names, err := repo.Branches(ctx, prefix)
		if err != nil {
			return nil, none
		}
		var out []cobra.Completion
		for _, n := range names {
			out = append(out, strings.TrimPrefix(n, prefix))
		}
		return out, none
	}
}

// branchPrefix reads the configured prefix of a branch kind.
func branchPrefix(kind string) func(cmd *cobra.Command) (string, bool) {
	return func(cmd *cobra.Command) (string, bool) {
		cfg, err := loadConfigForCmd(cmd)
		if err != nil {
			return "", false
		}
		switch kind {
		case "feature":
			return cfg.Release.FeaturePrefix, true
		case "release":
			return cfg.Release.ReleasePrefix, true
		case "hotfix":
			return cfg.Release.HotfixPrefix, true
		}
		return "", false
	}
}

// completeDeployments completes a deployment ID, newest first, with its
// status as the description.
func completeDeployments(af *apiFlags) completer {
	return completeFromDaemon(af, func(ctx context.Context, c *server.Client) ([]cobra.Completion, error) {
		ds, err := c.List(ctx)
		var out []cobra.Completion
		for i := len(ds) - 1; i >= 0; i-- {
			out = append(out, cobra.CompletionWithDesc(ds[i].ID, ds[i].Status))
		}
		return out, err
	})
}

// completeExecutions completes a pipeline execution ID, newest first, with
// its tag and status as the description.
func completeExecutions(af *apiFlags) completer {
	return completeFromDaemon(af, func(ctx context.Context, c *server.Client) ([]cobra.Completion, error) {
		es, err := c.Executions(ctx)
		var out []cobra.Completion
		for _, e := range es {
			out = append(out, cobra.CompletionWithDesc(e.ID, e.Tag+" "+string(e.Status)))
		}
		return out, err
	})
}

// completeFromDaemon completes the first argument with what list reads
// from the daemon, in its order; nothing when there is no daemon.
func completeFromDaemon(af *apiFlags, list func(context.Context, *server.Client) ([]cobra.Completion, error)) completer {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		none := cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
		if len(args) > 0 {
			return nil, none
		}
		ctx, cancel := completionContext(cmd)
		defer cancel()
		c, err := af.client()
		if err != nil {
			return nil, none
		}
		out, err := list(ctx, c)
		if err != nil {
			return nil, none
		}
		return out, none
	}
}

// completionContext bounds a completion's look-up: a shell waits for it.
func completionContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, 2*time.Second)
}
