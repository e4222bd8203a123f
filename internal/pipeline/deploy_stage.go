package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/canaryflow/canaryflow/internal/release"
)

// Deployer is what the Deploy stage needs of the release use case
// (release.Releaser).
type Deployer interface {
	// Deploy starts a blue/green deployment and returns its ID. The
	// request's Creator is recorded in the same write that creates the
	// deployment, so that Find finds it after a restart even if the
	// execution never got to save the ID.
	Deploy(ctx context.Context, req release.Request) (string, error)
	// Find returns the ID of the deployment recorded with creator, or ""
	// when there is none.
	Find(ctx context.Context, creator string) (string, error)
	// Wait blocks until the deployment ends and returns its final status
	// (Succeeded, Failed or Stopped, CodeDeploy's words) and, when it did
	// not succeed, why.
	Wait(ctx context.Context, id string, progress io.Writer) (status, reason string, err error)
}

// Creator is what a deployment the pipeline creates records as its
// creator: it names the execution, so a restart finds the deployment of
// an execution that never saved its ID.
func Creator(execution string) string { return creatorPrefix + execution }

const creatorPrefix = "pipeline "

// ErrLeftRunning is returned by a stage that was waiting on something
// that outlives the daemon (the Deploy stage, on its deployment) when
// canaryflow shuts down: the execution stays in progress, and the next
// start follows it to its end (Runner.Recover).
var ErrLeftRunning = errors.New("left running: canaryflow stopped while it waited; the next start follows it")

// DeployStage returns the Deploy stage: it deploys the image the Build
// stage pushed, with the deployment settings of the release itself (the
// tagged commit's canaryflow.yaml and appspec.yaml, read from repoDir,
// the source's mirror), and the execution succeeds or fails with the
// deployment. A deployment outlives a restart of the daemon, and so does
// the stage: after a restart it follows the deployment it had created.
func DeployStage(d Deployer, repoDir string) Stage {
	return Stage{
		Name: "Deploy",
		Run: func(ctx context.Context, e *Execution, log io.Writer) error {
			if e.Image == "" {
				return errors.New("no image: the Build stage produced none")
			}
			id, err := d.Deploy(ctx, release.Request{Image: e.Image, Queue: true, Creator: Creator(e.ID),
				Release: &release.Commit{Dir: repoDir, Tag: e.Tag, Commit: e.Commit}})
			if err != nil {
				return fmt.Errorf("create deployment: %w", err)
			}
			e.DeploymentID = id
			if s, ok := log.(Saver); ok {
				if err := s.Save(); err != nil {
					return err
				}
			}
			fmt.Fprintf(log, "[canaryflow] deployment %s of %s started, with the settings of %s\n", id, e.Image, e.Tag)
			return follow(ctx, d, id, log)
		},
		Adopt: func(ctx context.Context, e *Execution) (bool, error) {
			if e.DeploymentID == "" {
				id, err := d.Find(ctx, Creator(e.ID))
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

// LiveVersion returns the Runner's Live: the version production serves,
// that of the pipeline execution whose deployment made the live revision
// ("" before the first deployment). live is release.Releaser.Live. A
// revision deployed by hand has no version canaryflow knows of: that is
// an error, and the Runner says so.
func LiveVersion(live func(context.Context) (int, []string, error), execs *Executions) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		rev, creators, err := live(ctx)
		if err != nil || rev == 0 {
			return "", err
		}
		for _, c := range creators {
			execution, ok := strings.CutPrefix(c, creatorPrefix)
			if !ok {
				continue
			}
			e, err := execs.Get(execution)
			if err != nil {
				return "", fmt.Errorf("live revision %d: %w", rev, err)
			}
			return e.Version, nil
		}
		return "", fmt.Errorf("live revision %d was not deployed by the pipeline", rev)
	}
}

// follow waits for deployment id to end; the stage ends with its outcome.
func follow(ctx context.Context, d Deployer, id string, log io.Writer) error {
	status, reason, err := d.Wait(ctx, id, log)
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
