package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
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

// TestSettingsLine: the status names where the settings came from and
// the ones a person checks first.
func TestSettingsLine(t *testing.T) {
	s := deploy.Settings{
		Strategy:    awsfmt.TrafficRouting{Type: awsfmt.TimeBasedCanary, Percent: 10, Interval: 5 * time.Minute},
		ReadyAction: "STOP_DEPLOYMENT", ReadyWait: time.Hour, TerminationWait: 5 * time.Minute,
		Hooks:  map[string]deploy.Hook{"AfterAllowTestTraffic": {Name: "Smoke"}, "BeforeInstall": {Name: "Migrate"}},
		Source: &deploy.SettingsSource{Files: []string{"canaryflow.yaml", "appspec.yaml"}, Tag: "v1.2.0", Commit: "abc1234def5678"},
	}
	want := "canaryflow.yaml and appspec.yaml at v1.2.0 (abc1234): TimeBasedCanary{percent: 10, interval: 5m0s}, " +
		"ready STOP_DEPLOYMENT (wait 1h0m0s), termination wait 5m0s, hooks BeforeInstall, AfterAllowTestTraffic"
	if got := settingsLine(s); got != want {
		t.Errorf("settingsLine =\n%s\nwant\n%s", got, want)
	}
	if got := localView(&server.DeploymentView{Deployment: deploy.Deployment{Settings: deploy.Settings{}}}).Settings; !strings.HasPrefix(got, "(source not recorded)") {
		t.Errorf("a deployment without a recorded source: %q", got)
	}
}
