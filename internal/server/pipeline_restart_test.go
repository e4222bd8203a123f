package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/pipeline"
)

// TestPipelineRestartMidCanary restarts the daemon while a tag's canary
// stands at 10%: the deployment resumes, and its execution follows it and
// ends with its outcome, not as interrupted, with no second deployment.
func TestPipelineRestartMidCanary(t *testing.T) {
	origin, work := helloRepo(t)
	state := t.TempDir()
	cfg := testConfig(t, freePort(t), freePort(t), fmt.Sprintf(`pipeline:
  source: %s
  poll_interval: 200ms
  build: {image: go}
`, origin))
	d := startDaemon(t, state, cfg)

	release(t, work, "1.0.0", "1.0.0", nil)
	if e := d.waitExecution("v1.0.0"); e.Status != pipeline.Succeeded {
		t.Fatalf("v1.0.0: %s %s", e.Status, e.Error)
	}
	release(t, work, "1.1.0", "1.1.0", nil)
	e := d.waitDeploymentOf("v1.1.0")
	d.waitFor(e.DeploymentID, func(v *DeploymentView) bool { return v.Deployment.GreenPercent == 10 })

	d.stop()
	d = startDaemon(t, state, cfg)
	got := d.waitExecution("v1.1.0")
	if got.Status != pipeline.Succeeded || got.ID != e.ID || got.DeploymentID != e.DeploymentID {
		t.Fatalf("after the restart: %s %q (execution %s, deployment %s), want %s Succeeded with %s",
			got.Status, got.Error, got.ID, got.DeploymentID, e.ID, e.DeploymentID)
	}
	if _, body := getVersion(t, d.prod); body != "Version: 1.1.0" {
		t.Errorf("production answers %q, want 1.1.0", body)
	}
	deps, err := d.client.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 2 {
		t.Errorf("%d deployments, want 2 (one a tag)", len(deps))
	}
	for _, dep := range deps {
		if !strings.HasPrefix(dep.Creator, "pipeline e-") {
			t.Errorf("deployment %s: creator %q does not name its execution", dep.ID, dep.Creator)
		}
	}
	d.stopWithTasks(state, cfg) // a test that fails before this leaves none either (killTasksAtEnd)
}

// waitDeploymentOf waits until the execution of tag has created its
// deployment.
func (d *daemon) waitDeploymentOf(tag string) *pipeline.Execution {
	d.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		es, err := d.client.Executions(context.Background())
		if err != nil {
			d.t.Fatal(err)
		}
		for _, e := range es {
			if e.Tag == tag && e.DeploymentID != "" {
				return &e
			}
			if e.Tag == tag && e.Status.Done() {
				d.t.Fatalf("execution of %s ended without a deployment: %s %s", tag, e.Status, e.Error)
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("execution of %s created no deployment; executions: %+v", tag, es)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
