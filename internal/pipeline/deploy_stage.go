package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Deployer is what the Deploy stage needs of the deployment controller.
type Deployer interface {
	// CreateDeployment starts a blue/green deployment of image for version
	// and returns its ID. The deployment records execution, the ID of the
	// execution creating it, in the same write that creates it, so that
	// FindDeployment finds it after a restart even if the execution never
	// got to save the ID.
	CreateDeployment(ctx context.Context, image, version, execution string) (string, error)
	// FindDeployment returns the ID of the deployment execution created,
	// or "" when it created none.
	FindDeployment(ctx context.Context, execution string) (string, error)
	// WaitDeployment blocks until the deployment ends and returns its final
	// status (Succeeded, Failed or Stopped, CodeDeploy's words) and, when it
	// did not succeed, why.
	WaitDeployment(ctx context.Context, id string, progress io.Writer) (status, reason string, err error)
}

// ErrLeftRunning is returned by a stage that was waiting on something
// that outlives the daemon (the Deploy stage, on its deployment) when
// canaryflow shuts down: the execution stays in progress, and the next
// start follows it to its end (Runner.Recover).
var ErrLeftRunning = errors.New("left running: canaryflow stopped while it waited; the next start follows it")

// DeployStage returns the Deploy stage: it creates a deployment with the
// image the Build stage pushed, and the execution succeeds or fails with
// it. A deployment outlives a restart of the daemon, and so does the
// stage: after a restart it follows the deployment it had created.
func DeployStage(d Deployer) Stage {
	return Stage{
		Name: "Deploy",
		Run: func(ctx context.Context, e *Execution, log io.Writer) error {
			if e.Image == "" {
				return errors.New("no image: the Build stage produced none")
			}
			id, err := d.CreateDeployment(ctx, e.Image, e.Version, e.ID)
			if err != nil {
				return fmt.Errorf("create deployment: %w", err)
			}
			e.DeploymentID = id
			if s, ok := log.(Saver); ok {
				if err := s.Save(); err != nil {
					return err
				}
			}
			fmt.Fprintf(log, "[canaryflow] deployment %s of %s started\n", id, e.Image)
			return follow(ctx, d, id, log)
		},
		Adopt: func(ctx context.Context, e *Execution) (bool, error) {
			if e.DeploymentID == "" {
				id, err := d.FindDeployment(ctx, e.ID)
				if err != nil {
					return false, fmt.Errorf("find the deployment of %s: %w", e.ID, err)
				}
				e.DeploymentID = id
			}
			return e.DeploymentID != "", nil
		},
		Follow: func(ctx context.Context, e *Execution, log io.Writer) error {
			fmt.Fprintf(log, "[canaryflow] canaryflow restarted; following deployment %s\n", e.DeploymentID)
			return follow(ctx, d, e.DeploymentID, log)
		},
	}
}

// follow waits for deployment id to end; the stage ends with its outcome.
func follow(ctx context.Context, d Deployer, id string, log io.Writer) error {
	status, reason, err := d.WaitDeployment(ctx, id, log)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("deployment %s: %w", id, ErrLeftRunning)
		}
		return fmt.Errorf("deployment %s: %w", id, err)
	}
	fmt.Fprintf(log, "[canaryflow] deployment %s %s\n", id, status)
	if status != "Succeeded" {
		if reason == "" {
			reason = "no reason given"
		}
		return fmt.Errorf("deployment %s %s: %s", id, status, reason)
	}
	return nil
}
