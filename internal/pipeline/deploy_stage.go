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
	// and returns its ID.
	CreateDeployment(ctx context.Context, image, version string) (string, error)
	// WaitDeployment blocks until the deployment ends and returns its final
	// status (Succeeded, Failed or Stopped, CodeDeploy's words) and, when it
	// did not succeed, why.
	WaitDeployment(ctx context.Context, id string, progress io.Writer) (status, reason string, err error)
}

// DeployStage returns the Deploy stage: it creates a deployment with the
// image the Build stage pushed, and the execution succeeds or fails with it.
func DeployStage(d Deployer) Stage {
	return Stage{Name: "Deploy", Run: func(ctx context.Context, e *Execution, log io.Writer) error {
		if e.Image == "" {
			return errors.New("no image: the Build stage produced none")
		}
		id, err := d.CreateDeployment(ctx, e.Image, e.Version)
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
		status, reason, err := d.WaitDeployment(ctx, id, log)
		if err != nil {
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
	}}
}
