package cli

import (
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/server"
)

// TestLocalViewWaits: the daemon's ready wait and a step held for traffic
// reach the view with the commands that end them.
func TestLocalViewWaits(t *testing.T) {
	until := time.Date(2026, 12, 4, 14, 5, 0, 0, time.UTC)
	v := &server.DeploymentView{Deployment: deploy.Deployment{ID: "d-000123", Status: deploy.StatusReady, WaitUntil: until}}
	r := localView(v).Ready
	if r == nil || !r.Until.Equal(until) || r.Approve != "canaryflow deploy approve d-000123" || r.Stop != "canaryflow deploy stop d-000123" {
		t.Errorf("ready wait = %+v", r)
	}
	v.Deployment.Status = deploy.StatusInProgress
	v.Deployment.StepTraffic = &deploy.StepTraffic{Requests: 3, Want: 10, Waiting: true}
	look := localView(v)
	if look.Ready != nil || look.TrafficWait == nil || look.TrafficWait.Requests != 3 || look.TrafficWait.Want != 10 ||
		look.TrafficWait.Stop != "canaryflow deploy stop d-000123" {
		t.Errorf("traffic wait = %+v, ready = %+v", look.TrafficWait, look.Ready)
	}
	v.Deployment.StepTraffic.Waiting = false
	if look := localView(v); look.TrafficWait != nil {
		t.Errorf("a step within its interval shows a traffic wait: %+v", look.TrafficWait)
	}
}
