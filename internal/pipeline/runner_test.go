package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/canaryflow/canaryflow/internal/store"

	"github.com/canaryflow/canaryflow/internal/release"
)

func newExecutions(t *testing.T) (*Executions, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return NewExecutions(st), path
}

func rel(tag string) Release {
	v := semver.MustParse(strings.TrimPrefix(tag, "v"))
	return Release{Tag: tag, Version: v, Commit: fmt.Sprintf("%040d", v.Minor())}
}

// gate is a stage whose runs block until the test lets each one go.
type gate struct {
	name    string
	mu      sync.Mutex
	entered chan string           // tag of each execution entering the stage
	release map[string]chan error // per tag: what the stage returns
}

func newGate(name string) *gate {
	return &gate{name: name, entered: make(chan string, 16), release: map[string]chan error{}}
}

func (g *gate) ch(tag string) chan error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release[tag] == nil {
		g.release[tag] = make(chan error, 1)
	}
	return g.release[tag]
}

func (g *gate) stage() Stage {
	return Stage{Name: g.name, Run: func(ctx context.Context, e *Execution, log io.Writer) error {
		fmt.Fprintf(log, "%s running %s\n", g.name, e.Tag)
		g.entered <- e.Tag
		select {
		case err := <-g.ch(e.Tag):
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
}

func expectEnter(t *testing.T, g *gate, tag string) {
	t.Helper()
	select {
	case got := <-g.entered:
		if got != tag {
			t.Fatalf("%s: %s entered, want %s", g.name, got, tag)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: %s never entered", g.name, tag)
	}
}

func waitStatus(t *testing.T, x *Executions, id string, want Status) *Execution {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		e, err := x.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status == want {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s (%s) status %s, want %s", id, e.Tag, e.Status, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunnerSuccessFailureAndLogs(t *testing.T) {
	x, _ := newExecutions(t)
	build, deploy := newGate("Build"), newGate("Deploy")
	r, err := NewRunner(RunnerOptions{Executions: x, Stages: []Stage{build.stage(), deploy.stage()},
		Secrets: []string{"hunter2"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e, started, err := r.Start(ctx, rel("v1.0.0"), "poll")
	if err != nil || !started {
		t.Fatal(err)
	}
	expectEnter(t, build, "v1.0.0")
	build.ch("v1.0.0") <- nil
	expectEnter(t, deploy, "v1.0.0")
	deploy.ch("v1.0.0") <- nil
	got := waitStatus(t, x, e.ID, Succeeded)
	if len(got.Stages) != 3 || got.Stages[0].Name != "Source" || got.Stages[2].Status != Succeeded {
		t.Errorf("stages = %+v", got.Stages)
	}
	log, _ := x.Log(e.ID, "")
	if string(log) != "Build running v1.0.0\nDeploy running v1.0.0\n" {
		t.Errorf("log = %q", log)
	}

	// Idempotent: the same tag again returns the succeeded execution.
	again, started, _ := r.Start(ctx, rel("v1.0.0"), "manual")
	if started || again.ID != e.ID {
		t.Errorf("re-run of a succeeded tag started %v (%s, want %s)", started, again.ID, e.ID)
	}

	// A failing build fails the execution; the error is redacted; a re-run is allowed.
	f, _, _ := r.Start(ctx, rel("v1.1.0"), "poll")
	expectEnter(t, build, "v1.1.0")
	build.ch("v1.1.0") <- errors.New("login with hunter2 refused")
	failed := waitStatus(t, x, f.ID, Failed)
	if failed.Stage("Build").Status != Failed || failed.Stage("Deploy").Status != NotStarted {
		t.Errorf("stages = %+v", failed.Stages)
	}
	if strings.Contains(failed.Error, "hunter2") || !strings.Contains(failed.Error, "Build stage: login with *** refused") {
		t.Errorf("error = %q", failed.Error)
	}
	retry, started, _ := r.Start(ctx, rel("v1.1.0"), "manual")
	if !started || retry.ID == f.ID {
		t.Error("a failed tag cannot be re-run")
	}
	expectEnter(t, build, "v1.1.0")
	build.ch("v1.1.0") <- nil
	expectEnter(t, deploy, "v1.1.0")
	deploy.ch("v1.1.0") <- nil
	waitStatus(t, x, retry.ID, Succeeded)
	r.Wait()
}

func TestRunnerSuperseded(t *testing.T) {
	x, _ := newExecutions(t)
	build, deploy := newGate("Build"), newGate("Deploy")
	r, _ := NewRunner(RunnerOptions{Executions: x, Stages: []Stage{build.stage(), deploy.stage()}})
	ctx := context.Background()

	e1, _, _ := r.Start(ctx, rel("v1.0.0"), "poll")
	expectEnter(t, build, "v1.0.0")
	build.ch("v1.0.0") <- nil
	expectEnter(t, deploy, "v1.0.0") // e1 holds Deploy

	e2, _, _ := r.Start(ctx, rel("v1.1.0"), "poll")
	expectEnter(t, build, "v1.1.0")
	build.ch("v1.1.0") <- nil // e2 waits for Deploy

	e3, _, _ := r.Start(ctx, rel("v1.2.0"), "poll")
	expectEnter(t, build, "v1.2.0")
	build.ch("v1.2.0") <- nil // e3 arrives at Deploy: e2 is superseded

	waitStatus(t, x, e2.ID, Superseded)
	deploy.ch("v1.0.0") <- nil
	waitStatus(t, x, e1.ID, Succeeded)
	expectEnter(t, deploy, "v1.2.0")
	deploy.ch("v1.2.0") <- nil
	waitStatus(t, x, e3.ID, Succeeded)
	r.Wait()
}

func TestRunnerQueued(t *testing.T) {
	x, _ := newExecutions(t)
	build, deploy := newGate("Build"), newGate("Deploy")
	r, _ := NewRunner(RunnerOptions{Mode: ModeQueued, Executions: x, Stages: []Stage{build.stage(), deploy.stage()}})
	ctx := context.Background()
	e1, _, _ := r.Start(ctx, rel("v1.0.0"), "poll")
	expectEnter(t, build, "v1.0.0")
	e2, _, _ := r.Start(ctx, rel("v1.1.0"), "poll")
	e3, _, _ := r.Start(ctx, rel("v1.2.0"), "poll")
	select {
	case tag := <-build.entered:
		t.Fatalf("%s entered Build while v1.0.0 is still running (QUEUED runs one at a time)", tag)
	case <-time.After(100 * time.Millisecond):
	}
	build.ch("v1.0.0") <- nil
	expectEnter(t, deploy, "v1.0.0")
	deploy.ch("v1.0.0") <- nil
	// Both later executions run, none superseded; order of the two waiting
	// ones follows the queue.
	for i := 0; i < 2; i++ {
		tag := <-build.entered
		build.ch(tag) <- nil
		expectEnter(t, deploy, tag)
		deploy.ch(tag) <- nil
	}
	for _, e := range []*Execution{e1, e2, e3} {
		waitStatus(t, x, e.ID, Succeeded)
	}
	r.Wait()
}

func TestRunnerShutdownAndRecover(t *testing.T) {
	x, _ := newExecutions(t)
	build := newGate("Build")
	r, _ := NewRunner(RunnerOptions{Executions: x, Stages: []Stage{build.stage()}})
	ctx, cancel := context.WithCancel(context.Background())
	e, _, _ := r.Start(ctx, rel("v1.0.0"), "poll")
	expectEnter(t, build, "v1.0.0")
	cancel()
	r.Wait()
	if got, _ := x.Get(e.ID); got.Status != Stopped {
		t.Errorf("status after shutdown = %s, want Stopped", got.Status)
	}

	// A crash leaves an execution InProgress; Recover ends it with advice.
	got, _ := x.Get(e.ID)
	got.Status = InProgress
	got.Stages[1].Status = InProgress
	x.Save(got)
	r2, _ := NewRunner(RunnerOptions{Executions: x, Stages: []Stage{build.stage()}})
	if err := r2.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec, _ := x.Get(e.ID)
	if rec.Status != Failed || !strings.Contains(rec.Error, "did not deploy v1.0.0") || rec.Stages[1].Status != Failed {
		t.Errorf("recovered = %+v", rec)
	}
	if _, err := x.Get("e-999999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing execution: %v", err)
	}
	if _, err := NewRunner(RunnerOptions{Executions: x, Mode: "PARALLEL"}); err == nil {
		t.Error("unknown mode accepted")
	}
}

type fakeDeployer struct {
	status, reason string
	created        []string
}

func (f *fakeDeployer) Find(context.Context, string) (string, error) { return "", nil }

func (f *fakeDeployer) Deploy(_ context.Context, req release.Request) (string, error) {
	f.created = append(f.created, req.Image+" "+req.Release.Tag+" "+req.Creator)
	return fmt.Sprintf("d-%06d", len(f.created)), nil
}

func (f *fakeDeployer) Wait(_ context.Context, id string, progress io.Writer) (string, string, error) {
	fmt.Fprintf(progress, "%s: 10%% → 100%%\n", id)
	return f.status, f.reason, nil
}

func TestDeployStage(t *testing.T) {
	ok := &fakeDeployer{status: "Succeeded"}
	e := &Execution{ID: "e-000001", Image: "reg/hello:1.0.0@sha256:x", Version: "1.0.0", Tag: "v1.0.0"}
	var log strings.Builder
	if err := DeployStage(ok, "").Run(context.Background(), e, &log); err != nil {
		t.Fatal(err)
	}
	if e.DeploymentID != "d-000001" || ok.created[0] != "reg/hello:1.0.0@sha256:x v1.0.0 pipeline e-000001" || !strings.Contains(log.String(), "100%") {
		t.Errorf("e = %+v, created %v, log %q", e, ok.created, log.String())
	}
	bad := &fakeDeployer{status: "Failed", reason: "alarm 5xx-rate breached at 10%"}
	err := DeployStage(bad, "").Run(context.Background(), &Execution{Image: "x", Version: "1.1.0"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "Failed: alarm 5xx-rate breached at 10%") {
		t.Errorf("failed deployment: %v", err)
	}
	if err := DeployStage(ok, "").Run(context.Background(), &Execution{}, io.Discard); err == nil {
		t.Error("deploy without an image succeeded")
	}
}
