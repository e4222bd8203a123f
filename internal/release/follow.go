package release

import (
	"context"
	"fmt"
	"io"

	"github.com/canaryflow/canaryflow/internal/deploy"
)

// Find returns the ID of the newest deployment of the service recorded
// with creator, or "" when there is none: how a restarted pipeline finds
// the deployment an execution created before it could save the ID.
func (r *Releaser) Find(_ context.Context, creator string) (string, error) {
	all, err := r.opts.Controller.List(r.Service().Name)
	if err != nil {
		return "", err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Creator == creator {
			return all[i].ID, nil
		}
	}
	return "", nil
}

// Wait follows deployment id to its end, woken by the controller's own
// writes, printing each new status and step to progress. It returns the
// final status (Succeeded, Failed or Stopped) and, unless it succeeded,
// why.
func (r *Releaser) Wait(ctx context.Context, id string, progress io.Writer) (status, reason string, err error) {
	last := ""
	d, err := r.opts.Controller.Follow(ctx, id, func(d deploy.Deployment) {
		if line := fmt.Sprintf("%s %s", d.Status, d.Step); line != last {
			fmt.Fprintf(progress, "[canaryflow] deployment %s: %s\n", id, line)
			last = line
		}
	})
	if err != nil {
		return "", "", err
	}
	if d.Status != deploy.StatusSucceeded {
		reason = d.Alarm.Reason
		if d.Error != nil {
			reason = d.Error.Message
		}
	}
	return d.Status, reason, nil
}

// Live returns the revision production serves (0 before the first
// deployment) and the creators of the deployments of that revision,
// oldest first: the pipeline maps them back to the release it built.
func (r *Releaser) Live(context.Context) (revision int, creators []string, err error) {
	name := r.Service().Name
	all, err := r.opts.Controller.Services()
	if err != nil {
		return 0, nil, err
	}
	for _, s := range all {
		if s.Service == name {
			revision = s.LiveRevision
		}
	}
	if revision == 0 {
		return 0, nil, nil
	}
	deps, err := r.opts.Controller.List(name)
	if err != nil {
		return 0, nil, err
	}
	for _, d := range deps {
		if d.Revision == revision {
			creators = append(creators, d.Creator)
		}
	}
	return revision, creators, nil
}
