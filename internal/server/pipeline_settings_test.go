package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/pipeline"
)

// TestPipelineSettingsFromTag: a release is deployed with the settings of
// its tagged canaryflow.yaml (a ready wait and a linear config) while the
// daemon's own file says CONTINUE_DEPLOYMENT and a 10% canary, and its
// status names where they came from. A tag whose canaryflow.yaml is
// invalid fails the Deploy stage naming the tag and file:line, and
// changes nothing.
func TestPipelineSettingsFromTag(t *testing.T) {
	origin, work := helloRepo(t)
	state := t.TempDir()
	cfg := pipelineConfig(t, origin, "go")
	if cfg.Service.Ready.Action != "CONTINUE_DEPLOYMENT" {
		t.Fatalf("the daemon's own ready action is %s", cfg.Service.Ready.Action)
	}
	d := startDaemon(t, state, cfg)
	defer d.stopWithTasks(state, cfg)

	pushRelease(t, work, "1.0.0", "1.0.0", nil)
	if e := d.waitExecution("v1.0.0"); e.Status != pipeline.Succeeded {
		t.Fatalf("v1.0.0: %s %s", e.Status, e.Error)
	}

	writeFile(t, filepath.Join(work, "canaryflow.yaml"), `service:
  name: hello
  container: {port: 3000}
  desired_count: 2
  deployment_config: {type: TimeBasedLinear, percent: 50, interval: 1}
  ready: {action: STOP_DEPLOYMENT, wait: 10m}
  termination_wait: 1s
  alarms: {period: 250ms, min_requests: 5, promote_without_traffic: true}
`)
	pushRelease(t, work, "1.1.0", "1.1.0", nil)
	e := d.waitDeploymentOf("v1.1.0")
	v := d.waitFor(e.DeploymentID, func(v *DeploymentView) bool {
		return v.Deployment.Status == deploy.StatusReady || v.Deployment.Done()
	})
	if v.Deployment.Status != deploy.StatusReady || v.Deployment.GreenPercent != 0 {
		t.Fatalf("v1.1.0: %s at %d%%, want Ready at 0%% (the tag's STOP_DEPLOYMENT)", v.Deployment.Status, v.Deployment.GreenPercent)
	}
	s := v.Deployment.Settings
	if s.Strategy.Type != "TimeBasedLinear" || s.Strategy.Percent != 50 {
		t.Errorf("strategy %s, want the tag's linear 50%%", s.Strategy)
	}
	if s.Source == nil || s.Source.Tag != "v1.1.0" || s.Source.Commit != e.Commit ||
		s.Source.String() != "canaryflow.yaml at v1.1.0 ("+e.Commit[:7]+")" {
		t.Errorf("settings source %+v, want canaryflow.yaml at v1.1.0", s.Source)
	}
	if _, body := getVersion(t, d.prod); body != "Version: 1.0.0" {
		t.Errorf("production answers %q during the ready wait, want 1.0.0", body)
	}
	if _, err := d.client.Approve(context.Background(), e.DeploymentID); err != nil {
		t.Fatal(err)
	}
	if e := d.waitExecution("v1.1.0"); e.Status != pipeline.Succeeded {
		t.Fatalf("v1.1.0 after approval: %s %s", e.Status, e.Error)
	}
	if _, body := getVersion(t, d.prod); body != "Version: 1.1.0" {
		t.Errorf("production answers %q, want 1.1.0", body)
	}

	// A broken canaryflow.yaml at the tag: the Deploy stage fails, names
	// the tag and the line, and deploys nothing.
	writeFile(t, filepath.Join(work, "canaryflow.yaml"), "service:\n  name: hello\n  ready: {action: STOP_NOW}\n")
	pushRelease(t, work, "1.2.0", "1.2.0", nil)
	e = d.waitExecution("v1.2.0")
	want := "release v1.2.0 (" + e.Commit[:7] + "): canaryflow.yaml:3: service.ready.action"
	if e.Status != pipeline.Failed || e.DeploymentID != "" || !strings.Contains(e.Error, "Deploy stage") || !strings.Contains(e.Error, want) {
		t.Errorf("v1.2.0: %s %q (deployment %q), want Failed in Deploy with %q", e.Status, e.Error, e.DeploymentID, want)
	}
	deps, err := d.client.List(context.Background())
	if err != nil || len(deps) != 2 {
		t.Errorf("%d deployments (%v), want 2: a bad release creates none", len(deps), err)
	}
	if _, body := getVersion(t, d.prod); body != "Version: 1.1.0" {
		t.Errorf("production answers %q after a bad release, want 1.1.0", body)
	}
}
