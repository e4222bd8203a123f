package server

import (
	"context"
	"errors"
	"testing"

	"github.com/canaryflow/canaryflow/internal/deploy"
)

// Promote now skips the ready wait and the canary's 5 minutes without the
// clock moving, then keeps blue through the termination wait.
func TestPromoteSkipsTheCanaryWait(t *testing.T) {
	e := newE2E(t, canary5m+"  ready: {action: STOP_DEPLOYMENT, wait: 1h}\n")
	e.succeed("1.0.0")
	d := e.create("1.1.0", "", nil)
	e.wait(d.ID, "in its ready wait", func(v *DeploymentView) bool { return v.Deployment.Status == deploy.StatusReady })
	if _, err := e.d.client.Promote(context.Background(), d.ID); err != nil {
		t.Fatal(err)
	}
	v := e.wait(d.ID, "baking with all traffic on green", func(v *DeploymentView) bool {
		return v.Deployment.Status == deploy.StatusBaking && v.Deployment.GreenPercent == 100
	})
	if !v.Deployment.PromoteRequested || !v.Deployment.Approved {
		t.Errorf("promoted deployment: %+v", v.Deployment)
	}
	if got := e.settled("Version: 1.1.0"); got != "Version: 1.1.0" {
		t.Errorf("production answers %q", got)
	}
	var ae *APIError
	if _, err := e.d.client.Promote(context.Background(), d.ID); !errors.As(err, &ae) || ae.Status != 409 {
		t.Errorf("a second promote: %v, want 409", err)
	}
	// Blue is still kept: a rollback in the termination wait is a weight change.
	if len(e.running(v.Deployment.BlueTaskSet)) == 0 {
		t.Errorf("blue %s stopped before the termination wait ended", v.Deployment.BlueTaskSet)
	}
}
