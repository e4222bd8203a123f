package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/pipeline"
	"github.com/canaryflow/canaryflow/internal/store"
)

// TestPipelineRestartMidCanary restarts the daemon while a tag's canary
// stands at 10%: the deployment resumes, and its execution follows it and
// ends with its outcome, not as interrupted, with no second deployment.
// Then an execution killed in its Build says its tag was not deployed.
func TestPipelineRestartMidCanary(t *testing.T) {
	origin, work := helloRepo(t)
	state := t.TempDir()
	cfg := pipelineConfig(t, origin, "go")
	d := startDaemon(t, state, cfg)

	pushRelease(t, work, "1.0.0", "1.0.0", nil)
	if e := d.waitExecution("v1.0.0"); e.Status != pipeline.Succeeded {
		t.Fatalf("v1.0.0: %s %s", e.Status, e.Error)
	}
	pushRelease(t, work, "1.1.0", "1.1.0", nil)
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

	// A kill during the Build of v1.2.0 leaves its execution in progress
	// with no deployment: the next start ends it, saying v1.2.0 was not
	// deployed, what production serves, and how to deploy it.
	d.stop()
	st, err := store.Open(filepath.Join(state, "canaryflow.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	killed := &pipeline.Execution{Tag: "v1.2.0", Version: "1.2.0", Commit: strings.Repeat("1", 40), Trigger: "poll",
		Status: pipeline.InProgress, Stages: []pipeline.StageRun{{Name: "Source", Status: pipeline.Succeeded},
			{Name: "Build", Status: pipeline.InProgress}, {Name: "Deploy", Status: pipeline.NotStarted}}}
	err = pipeline.NewExecutions(st).Create(killed)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	d = startDaemon(t, state, cfg)
	got = d.waitExecution("v1.2.0")
	want := "did not deploy v1.2.0 (production serves 1.1.0); to deploy it: canaryflow pipeline start --tag v1.2.0"
	if got.Status != pipeline.Failed || !strings.Contains(got.Error, "interrupted by a restart during Build") || !strings.Contains(got.Error, want) {
		t.Errorf("execution interrupted in Build: %s %q, want Failed with %q", got.Status, got.Error, want)
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
