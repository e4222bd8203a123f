package cli

import (
	"context"
	"fmt"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/pipeline"
	"github.com/canaryflow/canaryflow/internal/server"
	"github.com/canaryflow/canaryflow/internal/watchview"
	"github.com/spf13/cobra"
)

// followChoice is what `deploy status --watch` with no ID should do next.
// Exactly one of its cases holds: follow ID, wait (Waiting true, with the
// execution that will create the deployment when one runs), or show Latest
// once because nothing is in progress or coming.
type followChoice struct {
	// ID is the deployment to follow: the newest one in progress, or the
	// one a running execution's Deploy stage created.
	ID string
	// Waiting means no deployment runs yet but one is coming: an execution
	// in Source or Build, or no deployment at all so far.
	Waiting bool
	// Execution is the running execution waited for; nil when Waiting
	// only because there is no deployment yet.
	Execution *pipeline.Execution
	// Latest is the newest finished deployment, shown once when nothing
	// runs and no execution is running.
	Latest string
}

// chooseFollow decides what to follow from the daemon's deployments (oldest
// first, as List returns them) and executions (newest first). A deployment
// in progress wins; then a running execution, by its deployment once its
// Deploy stage created one; then, with no deployment ever, waiting. An
// execution whose deployment has already ended is over but for its own
// last write (the event stream tells a watch of the deployment's end first):
// it is not waited for.
func chooseFollow(ds []deploy.Deployment, es []pipeline.Execution) followChoice {
	ended := map[string]bool{}
	for i := len(ds) - 1; i >= 0; i-- {
		if !ds[i].Done() {
			return followChoice{ID: ds[i].ID}
		}
		ended[ds[i].ID] = true
	}
	for i := range es {
		if es[i].Status.Done() || ended[es[i].DeploymentID] {
			continue
		}
		if es[i].DeploymentID != "" {
			return followChoice{ID: es[i].DeploymentID}
		}
		return followChoice{Waiting: true, Execution: &es[i]}
	}
	if len(ds) == 0 {
		return followChoice{Waiting: true}
	}
	return followChoice{Latest: ds[len(ds)-1].ID}
}

// noDeploymentError is the answer of a watch that waited for a pipeline
// execution which then ended without creating a deployment (a failed
// build, a version check, a newer tag superseding it).
type noDeploymentError struct {
	Execution pipeline.Execution
}

func (e *noDeploymentError) Error() string {
	msg := fmt.Sprintf("pipeline execution %s of %s ended %s without a deployment", e.Execution.ID, e.Execution.Tag, e.Execution.Status)
	if e.Execution.Error != "" {
		msg += ": " + e.Execution.Error
	}
	return msg
}

// waitingLine says what `deploy status --watch` waits for.
func waitingLine(e *pipeline.Execution) string {
	if e == nil {
		return "waiting for a deployment… (none yet; start one with canaryflow deploy create or push a release tag)"
	}
	stage := "Source"
	for _, s := range e.Stages {
		if s.Status == pipeline.InProgress {
			stage = s.Name
		}
	}
	return fmt.Sprintf("waiting for a deployment… pipeline execution %s of %s: %s", e.ID, e.Tag, stage)
}

// watchNewest is `deploy status --watch` with no ID: it follows the newest
// deployment in progress, or waits (watchview.Await) for the one a running
// pipeline execution is about to create and follows that to its end; when
// that execution ends without a deployment it returns a
// *noDeploymentError. With nothing in progress and nothing coming it says
// so and shows the latest finished deployment once. Waiting stops when ctx
// ends (Ctrl-C).
func watchNewest(cmd *cobra.Command, af *apiFlags, c *server.Client) error {
	ctx := cmd.Context()
	// Notes go to stderr with -o json so stdout stays JSON.
	note := cmd.OutOrStdout()
	if af.structured() {
		note = cmd.ErrOrStderr()
	}
	var ch followChoice
	waited := "" // the execution last waited for
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wopts := watchview.Options{Changes: daemonChanges(wctx, c)}
	id, err := watchview.Await(wctx, note, func(ctx context.Context) (string, string, error) {
		var err error
		if ch, err = lookNewest(ctx, c); err != nil {
			return "", "", err
		}
		if ch.Execution != nil {
			waited = ch.Execution.ID
		}
		if ch.ID == "" && ch.Execution == nil && waited != "" {
			// The execution waited for ended between two looks: follow
			// its deployment, or say why it made none.
			e, err := c.Execution(ctx, waited)
			if err != nil {
				return "", "", err
			}
			if e.DeploymentID == "" {
				return "", "", &noDeploymentError{Execution: *e}
			}
			ch = followChoice{ID: e.DeploymentID}
		}
		if ch.Waiting {
			return "", waitingLine(ch.Execution), nil
		}
		return ch.ID + ch.Latest, "", nil
	}, wopts)
	cancel()
	if err != nil {
		return err
	}
	if ch.ID != "" {
		return watchDeployment(cmd, af, c, id)
	}
	fmt.Fprintln(note, "no deployment in progress and no pipeline execution running; the latest deployment:")
	v, err := c.Get(ctx, id)
	if err != nil {
		return err
	}
	return af.print(cmd.OutOrStdout(), v, func() { watchview.Render(cmd.OutOrStdout(), localView(v), nil, 0) })
}

// lookNewest reads deployments and executions once. A daemon without a
// pipeline has no executions.
func lookNewest(ctx context.Context, c *server.Client) (followChoice, error) {
	ds, err := c.List(ctx)
	if err != nil {
		return followChoice{}, err
	}
	es, err := c.Executions(ctx)
	if err != nil && !server.IsNotFound(err) {
		return followChoice{}, err
	}
	return chooseFollow(ds, es), nil
}
