package pipeline

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/release"
)

// liveDeployer is a deployment controller whose deployments outlive the
// Runner that created them, as the daemon's do across a restart: each
// ends when the test says so.
type liveDeployer struct {
	mu      sync.Mutex
	byExec  map[string]string // creator (naming the execution) → deployment, written with the deployment
	waiting chan string       // deployment IDs as WaitDeployment starts on them
	end     map[string]chan [2]string
}

func newLiveDeployer() *liveDeployer {
	return &liveDeployer{byExec: map[string]string{}, waiting: make(chan string, 8), end: map[string]chan [2]string{}}
}

func (l *liveDeployer) ch(id string) chan [2]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.end[id] == nil {
		l.end[id] = make(chan [2]string, 1)
	}
	return l.end[id]
}

func (l *liveDeployer) Deploy(_ context.Context, req release.Request) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := fmt.Sprintf("d-%06d", len(l.byExec)+1)
	l.byExec[req.Creator] = id
	return id, nil
}

func (l *liveDeployer) Find(_ context.Context, creator string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byExec[creator], nil
}

func (l *liveDeployer) Wait(ctx context.Context, id string, _ io.Writer) (string, string, error) {
	l.waiting <- id
	select {
	case r := <-l.ch(id):
		return r[0], r[1], nil
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
}

func imageStage() Stage {
	return Stage{Name: "Build", Run: func(_ context.Context, e *Execution, _ io.Writer) error {
		e.Image = "reg/hello:" + e.Version
		return nil
	}}
}

// crashDuringDeploy runs an execution of v1.1.0 until its deployment is
// being waited on, and leaves the store as a SIGKILL at that moment would:
// the execution record is put back as it was then, after the Runner is
// gone. forget drops the saved deployment ID, as a kill between the
// deployment's creation and the execution's save would.
func crashDuringDeploy(t *testing.T, x *Executions, dep *liveDeployer, forget bool) *Execution {
	t.Helper()
	r, err := NewRunner(RunnerOptions{Executions: x, Stages: []Stage{imageStage(), DeployStage(dep, "")}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); r.Wait() })
	e, _, err := r.Start(ctx, rel("v1.1.0"), "poll")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-dep.waiting:
	case <-time.After(20 * time.Second):
		t.Fatal("the deployment was never waited on")
	}
	killed, err := x.Get(e.ID)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	r.Wait()
	if forget {
		killed.DeploymentID = ""
	}
	if err := x.Save(killed); err != nil {
		t.Fatal(err)
	}
	return killed
}

// TestRecoverFollowsDeployment: an execution interrupted after its
// deployment was created ends, after the restart, with the deployment's
// outcome and reason, as an uninterrupted one does (a deployment that did
// not succeed fails the execution, naming its status and reason), and no
// second deployment is created.
func TestRecoverFollowsDeployment(t *testing.T) {
	for _, tc := range []struct {
		name, status, reason string
		forget               bool
		want                 Status
	}{
		{"succeeded", "Succeeded", "", false, Succeeded},
		{"failed", "Failed", "alarm 5xx-rate breached at 10%", false, Failed},
		{"stopped", "Stopped", "alarm: error rate 100.0%", false, Failed},
		{"ID never saved", "Succeeded", "", true, Succeeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, _ := newExecutions(t)
			dep := newLiveDeployer()
			killed := crashDuringDeploy(t, x, dep, tc.forget)
			if killed.Status != InProgress || killed.Stage("Deploy").Status != InProgress {
				t.Fatalf("state at the kill = %+v", killed)
			}

			live := func(context.Context) (string, error) { return "1.0.0", nil }
			r, _ := NewRunner(RunnerOptions{Executions: x, Stages: []Stage{imageStage(), DeployStage(dep, "")}, Live: live})
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(func() { cancel(); r.Wait() })
			if err := r.Recover(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := x.Get(killed.ID); got.DeploymentID != "d-000001" || got.Status != InProgress {
				t.Fatalf("after Recover = %+v, want in progress following d-000001", got)
			}
			r.Resume(ctx)
			select {
			case id := <-dep.waiting:
				if id != "d-000001" {
					t.Fatalf("followed %s, want d-000001", id)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the deployment was not followed after the restart")
			}
			dep.ch("d-000001") <- [2]string{tc.status, tc.reason}
			got := waitStatus(t, x, killed.ID, tc.want)
			if tc.reason != "" && !strings.Contains(got.Error, tc.status+": "+tc.reason) {
				t.Errorf("error %q does not give the deployment's reason %q", got.Error, tc.reason)
			}
			if strings.Contains(got.Error, "pipeline start") || strings.Contains(got.Error, "interrupted") {
				t.Errorf("error %q calls a followed deployment interrupted", got.Error)
			}
			if len(dep.byExec) != 1 {
				t.Errorf("%d deployments created, want 1", len(dep.byExec))
			}
		})
	}
}

// TestShutdownLeavesDeploymentFollowed: a graceful stop while the Deploy
// stage waits leaves the execution in progress, and the next start ends
// it with the deployment's outcome.
func TestShutdownLeavesDeploymentFollowed(t *testing.T) {
	x, _ := newExecutions(t)
	dep := newLiveDeployer()
	r, _ := NewRunner(RunnerOptions{Executions: x, Stages: []Stage{imageStage(), DeployStage(dep, "")}})
	ctx, cancel := context.WithCancel(context.Background())
	e, _, _ := r.Start(ctx, rel("v1.1.0"), "poll")
	<-dep.waiting
	cancel()
	r.Wait()
	if got, _ := x.Get(e.ID); got.Status != InProgress {
		t.Fatalf("after a graceful stop = %s %q, want InProgress", got.Status, got.Error)
	}
	r2, _ := NewRunner(RunnerOptions{Executions: x, Stages: []Stage{imageStage(), DeployStage(dep, "")}})
	ctx2, cancel2 := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel2(); r2.Wait() })
	if err := r2.Recover(ctx2); err != nil {
		t.Fatal(err)
	}
	r2.Resume(ctx2)
	<-dep.waiting
	dep.ch("d-000001") <- [2]string{"Succeeded", ""}
	waitStatus(t, x, e.ID, Succeeded)
}

// TestRecoverInterruptedBuild: an execution interrupted before it created
// a deployment says its tag was not deployed, and advises running it again
// only when production does not serve that version.
func TestRecoverInterruptedBuild(t *testing.T) {
	for _, tc := range []struct {
		name, live string
		retry      bool
	}{
		{"older version live", "1.0.0", true},
		{"nothing live", "", true},
		{"same version live", "1.1.0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, _ := newExecutions(t)
			dep := newLiveDeployer()
			e := &Execution{Tag: "v1.1.0", Version: "1.1.0", Status: InProgress, Stages: []StageRun{
				{Name: "Source", Status: Succeeded}, {Name: "Build", Status: InProgress}, {Name: "Deploy", Status: NotStarted}}}
			if err := x.Create(e); err != nil {
				t.Fatal(err)
			}
			live := func(context.Context) (string, error) { return tc.live, nil }
			r, _ := NewRunner(RunnerOptions{Executions: x, Stages: []Stage{imageStage(), DeployStage(dep, "")}, Live: live})
			if err := r.Recover(context.Background()); err != nil {
				t.Fatal(err)
			}
			r.Resume(context.Background())
			r.Wait()
			got, _ := x.Get(e.ID)
			if got.Status != Failed || got.Stage("Build").Status != Failed {
				t.Fatalf("recovered = %+v", got)
			}
			if !strings.Contains(got.Error, "interrupted by a restart during Build") || !strings.Contains(got.Error, "did not deploy v1.1.0") {
				t.Errorf("error %q", got.Error)
			}
			if has := strings.Contains(got.Error, "canaryflow pipeline start --tag v1.1.0"); has != tc.retry {
				t.Errorf("advises running it again = %v, want %v: %q", has, tc.retry, got.Error)
			}
			if len(dep.byExec) != 0 {
				t.Errorf("recovery created a deployment")
			}
		})
	}
}
