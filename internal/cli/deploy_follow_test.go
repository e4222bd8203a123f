package cli

import (
	"strings"
	"testing"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/pipeline"
)

// TestChooseFollow checks what `deploy status --watch` with no ID follows:
// the newest deployment in progress, else the one a running execution is
// creating, never a finished one while something is coming.
func TestChooseFollow(t *testing.T) {
	done := func(id string) deploy.Deployment { return deploy.Deployment{ID: id, Status: deploy.StatusSucceeded} }
	running := func(id string) deploy.Deployment { return deploy.Deployment{ID: id, Status: deploy.StatusInProgress} }
	build := pipeline.Execution{ID: "e-2", Tag: "v2", Status: pipeline.InProgress, Stages: []pipeline.StageRun{
		{Name: "Source", Status: pipeline.Succeeded}, {Name: "Build", Status: pipeline.InProgress}, {Name: "Deploy", Status: pipeline.NotStarted}}}
	deploying := pipeline.Execution{ID: "e-2", Status: pipeline.InProgress, DeploymentID: "d-2"}
	finished := pipeline.Execution{ID: "e-1", Status: pipeline.Succeeded, DeploymentID: "d-1"}
	for _, tc := range []struct {
		name string
		ds   []deploy.Deployment
		es   []pipeline.Execution
		want followChoice
	}{
		{"nothing at all waits", nil, nil, followChoice{Waiting: true}},
		{"nothing runs shows the latest", []deploy.Deployment{done("d-1"), done("d-2")}, []pipeline.Execution{finished}, followChoice{Latest: "d-2"}},
		{"in progress is followed", []deploy.Deployment{done("d-1"), running("d-2")}, nil, followChoice{ID: "d-2"}},
		{"newest unfinished wins", []deploy.Deployment{running("d-1"), {ID: "d-2", Status: deploy.StatusQueued}}, nil, followChoice{ID: "d-2"}},
		{"a build waits, not the finished one", []deploy.Deployment{done("d-1")}, []pipeline.Execution{build, finished}, followChoice{Waiting: true, Execution: &build}},
		{"an execution's deployment is followed", []deploy.Deployment{done("d-1")}, []pipeline.Execution{deploying, finished}, followChoice{ID: "d-2"}},
		{"an execution whose deployment ended is not waited for", []deploy.Deployment{done("d-1"), done("d-2")}, []pipeline.Execution{deploying, finished}, followChoice{Latest: "d-2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := chooseFollow(tc.ds, tc.es)
			if got.ID != tc.want.ID || got.Waiting != tc.want.Waiting || got.Latest != tc.want.Latest ||
				(got.Execution == nil) != (tc.want.Execution == nil) || (got.Execution != nil && got.Execution.ID != tc.want.Execution.ID) {
				t.Errorf("chooseFollow = %+v, want %+v", got, tc.want)
			}
		})
	}
	if line := waitingLine(&build); !strings.Contains(line, "waiting for a deployment… pipeline execution e-2 of v2: Build") {
		t.Errorf("waiting line %q", line)
	}
}
