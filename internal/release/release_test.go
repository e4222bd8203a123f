package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/deploy"
)

// recorder is the controller's side of a release: it keeps the revisions
// registered and the deployments created, as the controller would store
// them, so a test checks what a deployment was created with.
type recorder struct {
	mu      sync.Mutex
	revs    []deploy.Revision
	created []deploy.CreateRequest
}

func (c *recorder) RegisterRevision(_ context.Context, rev deploy.Revision) (deploy.Revision, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rev.Number = len(c.revs) + 1
	c.revs = append(c.revs, rev)
	return rev, nil
}

func (c *recorder) Create(_ context.Context, req deploy.CreateRequest) (*deploy.Deployment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.created = append(c.created, req)
	return &deploy.Deployment{ID: fmt.Sprintf("d-%06d", len(c.created)), Service: req.Service, Revision: req.Revision,
		Settings: req.Settings, Creator: req.Creator}, nil
}

func (c *recorder) Rollback(context.Context, string, string, deploy.Settings) (*deploy.Deployment, error) {
	return nil, deploy.ErrNoPrevious
}
func (c *recorder) List(string) ([]deploy.Deployment, error)  { return nil, nil }
func (c *recorder) Services() ([]deploy.ServiceStatus, error) { return nil, nil }
func (c *recorder) Follow(context.Context, string, func(deploy.Deployment)) (deploy.Deployment, error) {
	return deploy.Deployment{}, errors.New("not followed here")
}

// parseService reads a canaryflow.yaml as the daemon does (server builds
// the same from config), the parts these tests check.
func parseService(name string, data []byte) (Service, error) {
	cfg, err := config.Parse(name, data)
	if err != nil {
		return Service{}, err
	}
	if cfg.Service == nil {
		return Service{}, &config.Error{Path: name, Field: "service", Msg: "missing"}
	}
	return serviceOf(cfg.Service), nil
}

func serviceOf(s *config.Service) Service {
	out := Service{Name: s.Name, ContainerName: s.Container.Name, ContainerPort: s.Container.Port, Env: s.Env,
		Settings: deploy.Settings{Strategy: s.DeploymentConfig.Routing, ReadyAction: s.Ready.Action, ReadyWait: s.Ready.Wait.D(),
			TerminationWait: s.TerminationWait.D()},
		Hooks: map[string]deploy.Hook{}}
	for name, h := range s.Hooks {
		out.Hooks[name] = deploy.Hook{Name: name, Command: h.Command, Timeout: h.Timeout.D()}
	}
	return out
}

// workingTree is the service as canaryflow up loaded it from the working
// tree: all at once, no ready wait, a 5m termination wait.
const workingTree = `service:
  name: hello
  container: {port: 3000}
  deployment_config: CodeDeployDefault.ECSAllAtOnce
  termination_wait: 5m
  hooks:
    Smoke: {command: [true]}
`

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// repo is a work tree with a bare origin, as the pipeline's source is; the
// releases are read from a mirror of the origin, as the pipeline reads them.
type repo struct {
	t                    *testing.T
	work, origin, mirror string
}

func newRepo(t *testing.T) *repo {
	root := t.TempDir()
	r := &repo{t: t, work: filepath.Join(root, "work"), origin: filepath.Join(root, "origin.git"), mirror: filepath.Join(root, "mirror.git")}
	gitIn(t, root, "init", "-q", "--bare", r.origin)
	gitIn(t, root, "init", "-q", "-b", "main", r.work)
	gitIn(t, r.work, "remote", "add", "origin", r.origin)
	return r
}

// tag commits files (name → content; "" deletes), tags the commit and
// pushes both; it returns the release as the Deploy stage names it.
func (r *repo) tag(tag string, files map[string]string) *Commit {
	t := r.t
	for name, content := range files {
		p := filepath.Join(r.work, name)
		if content == "" {
			os.Remove(p)
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitIn(t, r.work, "add", "-A")
	gitIn(t, r.work, "commit", "-q", "--allow-empty", "-m", "release "+tag)
	gitIn(t, r.work, "tag", "-a", "-m", tag, tag)
	gitIn(t, r.work, "push", "-q", "origin", "main", tag)
	if _, err := os.Stat(r.mirror); err != nil {
		gitIn(t, filepath.Dir(r.mirror), "clone", "-q", "--mirror", r.origin, r.mirror)
	} else {
		gitIn(t, r.mirror, "fetch", "-q", "--tags", "origin")
	}
	return &Commit{Dir: r.mirror, Tag: tag, Commit: gitIn(t, r.work, "rev-parse", tag+"^{commit}")}
}

func newReleaser(t *testing.T) (*Releaser, *recorder) {
	t.Helper()
	svc, err := parseService("canaryflow.yaml", []byte(workingTree))
	if err != nil {
		t.Fatal(err)
	}
	ctl := &recorder{}
	r, err := New(Options{Controller: ctl, Service: svc, ParseService: parseService})
	if err != nil {
		t.Fatal(err)
	}
	return r, ctl
}

const appspec = `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "<TASK_DEFINITION>"
        LoadBalancerInfo: {ContainerName: hello, ContainerPort: 3000}
Hooks:
  - AfterAllowTestTraffic: "Smoke"
`

// TestReleaseSettingsFromTag: a release is deployed with the settings of
// its tagged commit's canaryflow.yaml and appspec.yaml while the working
// tree says otherwise, and the deployment records where they came from;
// a deployment by hand keeps the working tree's.
func TestReleaseSettingsFromTag(t *testing.T) {
	repo := newRepo(t)
	rel := repo.tag("v1.2.0", map[string]string{
		"canaryflow.yaml": `service:
  name: hello
  container: {port: 3000}
  deployment_config: {type: TimeBasedCanary, percent: 20, interval: 90s}
  ready: {action: STOP_DEPLOYMENT, wait: 10m}
  termination_wait: 30s
  hooks:
    Smoke: {command: [echo, tagged-smoke]}
`,
		"appspec.yaml": appspec,
	})
	// The working tree moves on after the tag; the release does not.
	if err := os.WriteFile(filepath.Join(repo.work, "canaryflow.yaml"), []byte(workingTree), 0o644); err != nil {
		t.Fatal(err)
	}
	r, ctl := newReleaser(t)
	id, err := r.Deploy(context.Background(), Request{Image: "registry.example/hello:1.2.0", Creator: "pipeline e-000001", Release: rel})
	// registry.example is not allowed: the image check comes after the
	// release's files are read, so allow it and try again.
	if err == nil || !strings.Contains(err.Error(), "service.allowed_registries") {
		t.Fatalf("image of a registry not allowed: %v", err)
	}
	svc := r.Service()
	svc.AllowedRegistries = []string{"registry.example"}
	r.SetService(svc)
	id, err = r.Deploy(context.Background(), Request{Image: "registry.example/hello:1.2.0", Creator: "pipeline e-000001", Release: rel})
	if err != nil {
		t.Fatal(err)
	}
	if id != "d-000001" || len(ctl.created) != 1 {
		t.Fatalf("deployment %q, %d created", id, len(ctl.created))
	}
	s := ctl.created[0].Settings
	if s.Strategy.Type != "TimeBasedCanary" || s.Strategy.Percent != 20 || s.Strategy.Interval != 90*time.Second {
		t.Errorf("strategy %s, want the tag's canary of 20%% every 90s", s.Strategy)
	}
	if s.ReadyAction != "STOP_DEPLOYMENT" || s.ReadyWait != 10*time.Minute || s.TerminationWait != 30*time.Second {
		t.Errorf("ready %s %s, termination wait %s: want the tag's STOP_DEPLOYMENT 10m and 30s", s.ReadyAction, s.ReadyWait, s.TerminationWait)
	}
	if h := s.Hooks["AfterAllowTestTraffic"]; h.Name != "Smoke" || strings.Join(h.Command, " ") != "echo tagged-smoke" {
		t.Errorf("AfterAllowTestTraffic hook %+v, want the tag's Smoke (appspec.yaml at the tag)", h)
	}
	want := "canaryflow.yaml and appspec.yaml at v1.2.0 (" + rel.Commit[:7] + ")"
	if s.Source == nil || s.Source.String() != want || s.Source.Commit != rel.Commit {
		t.Errorf("settings source %+v, want %s", s.Source, want)
	}

	// By hand: the working tree's settings, and it says so.
	if _, err := r.Deploy(context.Background(), Request{Image: "registry.example/hello:1.2.0"}); err != nil {
		t.Fatal(err)
	}
	s = ctl.created[1].Settings
	if s.Strategy.Type != "AllAtOnce" || s.ReadyAction != "CONTINUE_DEPLOYMENT" || s.TerminationWait != 5*time.Minute || len(s.Hooks) != 0 {
		t.Errorf("by hand: %s, ready %s, termination wait %s, hooks %v: want the working tree's", s.Strategy, s.ReadyAction, s.TerminationWait, s.Hooks)
	}
	if s.Source == nil || s.Source.String() != "canaryflow.yaml in the working tree" {
		t.Errorf("by hand: settings source %v", s.Source)
	}
}

// TestReleaseBadFilesAtTag: a tag whose canaryflow.yaml is missing or
// invalid, or whose appspec.yaml is invalid, deploys nothing, and the
// error names the tag and the file:line of the problem.
func TestReleaseBadFilesAtTag(t *testing.T) {
	repo := newRepo(t)
	good := "service:\n  name: hello\n  container: {port: 3000}\n"
	for _, tc := range []struct {
		tag   string
		files map[string]string
		want  string
	}{
		{"v1.0.0", map[string]string{"README": "no config yet\n"}, "release v1.0.0 (%s): the tagged commit has no canaryflow.yaml"},
		{"v1.1.0", map[string]string{"canaryflow.yaml": good + "  ready: {action: STOP_NOW}\n"}, "release v1.1.0 (%s): canaryflow.yaml:4: service.ready.action"},
		{"v1.2.0", map[string]string{"canaryflow.yaml": good + "  deployment_config: {type: TimeBasedCanary, percent: 10, interval: 3}\n  alarms: {period: soon}\n"},
			"release v1.2.0 (%s): canaryflow.yaml:5:"},
		{"v1.3.0", map[string]string{"canaryflow.yaml": good, "appspec.yaml": "version: 0.0\nResources: []\nHooks:\n  - AfterInstall: 7\n"},
			"release v1.3.0 (%s): appspec.yaml"},
		{"v1.4.0", map[string]string{"canaryflow.yaml": good, "appspec.yaml": strings.Replace(appspec, "ContainerPort: 3000", "ContainerPort: 8080", 1)},
			"release v1.4.0 (%s): appspec.yaml: LoadBalancerInfo is hello:8080"},
		{"v1.5.0", map[string]string{"canaryflow.yaml": good, "appspec.yaml": appspec},
			`release v1.5.0 (%s): appspec hook AfterAllowTestTraffic names function "Smoke", which canaryflow.yaml's service.hooks does not define`},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			rel := repo.tag(tc.tag, tc.files)
			r, ctl := newReleaser(t)
			_, err := r.Deploy(context.Background(), Request{Image: "hello:" + tc.tag, Release: rel})
			t.Logf("error: %v", err)
			want := tc.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, rel.Commit[:7])
			}
			var inv *InvalidError
			if err == nil || !strings.Contains(err.Error(), want) || !errors.As(err, &inv) {
				t.Errorf("error %v, want an InvalidError containing %q", err, want)
			}
			if len(ctl.revs) != 0 || len(ctl.created) != 0 {
				t.Errorf("%d revisions and %d deployments made from a bad release", len(ctl.revs), len(ctl.created))
			}
			os.Remove(filepath.Join(repo.work, "appspec.yaml"))
		})
	}
}

// TestReleaseCommitNotInRepository: a release whose commit the mirror
// does not hold fails, saying so, rather than reading as "no file".
func TestReleaseCommitNotInRepository(t *testing.T) {
	repo := newRepo(t)
	rel := repo.tag("v1.0.0", map[string]string{"canaryflow.yaml": workingTree})
	rel.Commit = strings.Repeat("ab", 20)
	r, _ := newReleaser(t)
	_, err := r.Deploy(context.Background(), Request{Image: "hello:v1", Release: rel})
	if err == nil || !strings.Contains(err.Error(), "the commit is not in") {
		t.Errorf("error %v", err)
	}
	rel.Commit = "HEAD; rm -rf /"
	if _, err := r.Deploy(context.Background(), Request{Image: "hello:v1", Release: rel}); err == nil || !strings.Contains(err.Error(), "is not an object name") {
		t.Errorf("error %v", err)
	}
}
