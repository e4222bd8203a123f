package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/protect"
)

// protectOrigin does what `canaryflow protect` does on the demo's bare
// origin, then shows the hook turn away a commit pushed straight to main:
// from here on, every release in the demo reaches origin through the hook.
func (d *session) protectOrigin(ctx context.Context) error {
	cmd := d.o.Hook
	if len(cmd) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find canaryflow for the origin's hook: %w", err)
		}
		cmd = []string{exe}
	}
	cfg, err := config.Load(d.repo.Dir, "")
	if err != nil {
		return err
	}
	rules := protect.Rules{Main: cfg.Release.MainBranch, Develop: cfg.Release.DevelopBranch, TagPrefix: cfg.Release.TagPrefix}
	plan, err := protect.PlanLocal(ctx, filepath.Join(d.ws, "origin.git"), rules, cmd)
	if err != nil {
		return err
	}
	if err := plan.Apply(); err != nil {
		return err
	}
	d.cmd("canaryflow protect                      # origin.git: a pre-receive hook, the guide's branch protection")
	branch, err := d.repo.CurrentBranch(ctx)
	if err != nil {
		return err
	}
	if _, err := d.repo.Run(ctx, "switch", "--quiet", "--detach", "main"); err != nil {
		return err
	}
	if err := d.repo.CommitAllowEmpty(ctx, "fix: straight to main"); err != nil {
		return err
	}
	d.cmd(`git commit -m "fix: straight to main" && git push origin main`)
	pushErr := d.repo.Push(ctx, "origin", "HEAD:refs/heads/main")
	if _, err := d.repo.Run(ctx, "switch", "--quiet", "--", branch); err != nil {
		return err
	}
	if pushErr == nil {
		return errors.New("the protected origin accepted a commit pushed straight to main")
	}
	if !strings.Contains(pushErr.Error(), protect.RuleMergeOnly) {
		return fmt.Errorf("push straight to main: %w", pushErr)
	}
	d.say("  refused: %s (releases reach main by flow release finish --push)\n", protect.RuleMergeOnly)
	return nil
}
