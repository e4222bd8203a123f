package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/flow"
	"github.com/canaryflow/canaryflow/internal/git"
)

// workDir is the directory canaryflow works in: --chdir, else the process's.
func workDir(cmd *cobra.Command) (string, error) {
	dir, _ := cmd.Flags().GetString("chdir")
	if dir == "" {
		return os.Getwd()
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", usageErrorf("--chdir %s: not a directory", dir)
	}
	return dir, nil
}

// loadConfig reads canaryflow.yaml (or --config) from the repository root.
func loadConfig(cmd *cobra.Command, root string) (*config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	if path == "" {
		path = os.Getenv("CANARYFLOW_CONFIG")
	}
	return config.Load(root, path)
}

// openFlow opens the repository around the working directory, loads its
// configuration and returns a Flow printing to the command's stdout.
func openFlow(ctx context.Context, cmd *cobra.Command) (*flow.Flow, *git.Repo, error) {
	dir, err := workDir(cmd)
	if err != nil {
		return nil, nil, err
	}
	repo, err := git.Open(ctx, dir)
	if err != nil {
		if errors.Is(err, git.ErrNotRepository) {
			return nil, nil, fmt.Errorf("%w\n  run this inside a git repository (or `git init` first)", err)
		}
		return nil, nil, err
	}
	cfg, err := loadConfig(cmd, repo.Dir)
	if err != nil {
		return nil, nil, err
	}
	f, err := flow.New(repo, cfg.Release.FlowOptions(), cmd.OutOrStdout())
	if err != nil {
		return nil, nil, err
	}
	return f, repo, nil
}
