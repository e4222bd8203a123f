package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/canaryflow/canaryflow/internal/build"
	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/git"
	"github.com/canaryflow/canaryflow/internal/pipeline"
	"github.com/canaryflow/canaryflow/internal/registry"
	"github.com/canaryflow/canaryflow/internal/release"
	"github.com/canaryflow/canaryflow/internal/store"
)

// localPipeline is the daemon's tag → build → deploy pipeline.
type localPipeline struct {
	source  *pipeline.Source
	runner  *pipeline.Runner
	execs   *pipeline.Executions
	webhook *pipeline.Webhook // nil when no secret is set
	log     *slog.Logger
	initial []pipeline.Release // found by the first poll, before the daemon was ready
}

// pipelineDeps are what the pipeline takes from the rest of the daemon.
type pipelineDeps struct {
	cfg      *config.Config
	dir      string // repository root
	stateDir string
	st       *store.Store
	rel      *release.Releaser // deploys what the Build stage built, as POST /v1/deployments does
	reg      *registry.Registry
	regHost  string
	regToken string
	getenv   func(string) string
	log      *slog.Logger
}

// newPipeline builds the pipeline from the pipeline section.
func newPipeline(ctx context.Context, d pipelineDeps) (*localPipeline, error) {
	pc, svc := d.cfg.Pipeline, d.cfg.Service
	if d.regHost == "" {
		return nil, errors.New("pipeline: the registry is disabled; the Build stage needs it")
	}
	url := pc.Source
	if url == "" {
		out, err := (&git.Repo{Dir: d.dir}).Output(ctx, "config", "--get", "remote."+d.cfg.Release.Remote+".url")
		if err != nil || out == "" {
			return nil, fmt.Errorf("pipeline: no source: set pipeline.source in canaryflow.yaml, or add the remote %q", d.cfg.Release.Remote)
		}
		url = out
	}
	if !strings.Contains(url, "://") && !strings.Contains(url, "@") && !filepath.IsAbs(url) {
		url = filepath.Join(d.dir, url) // a local path, relative to the repository
	}
	execs := pipeline.NewExecutions(d.st)
	r := d.cfg.Release
	src, err := pipeline.NewSource(pipeline.SourceOptions{
		URL: url, MainBranch: r.MainBranch,
		Trigger:   pipeline.Trigger{Include: pc.Tags.Include, Exclude: pc.Tags.Exclude, TagPrefix: r.TagPrefix, NoTagPrefix: r.NoTagPrefix},
		MirrorDir: filepath.Join(d.stateDir, "pipeline", "mirror"),
		Interval:  pc.PollInterval.D(),
		Seen:      execs.SeenStore("source"),
		Log:       d.log.With("component", "source"),
	})
	if err != nil {
		return nil, err
	}
	getenv := d.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	env := map[string]string{}
	for k, v := range svc.Env { // the service's plain settings, as its tasks get them
		env[k] = v
	}
	for k, v := range pc.Build.Env {
		env[k] = v
	}
	var secrets []string
	for _, name := range pc.Build.SecretEnv {
		if v := getenv(name); v != "" {
			env[name] = v
			secrets = append(secrets, v)
		}
	}
	repo := pc.Build.Repository
	if repo == "" {
		repo = svc.Name
	}
	img := &imageStep{mode: pc.Build.Image, pkg: pc.Build.Package, repo: repo, regHost: d.regHost, regToken: d.regToken, timeout: pc.Build.Timeout.D()}
	codeBuild, err := localCodeBuild(d, repo, img)
	if err != nil {
		return nil, err
	}
	stages := []pipeline.Stage{
		pipeline.BuildStage(pipeline.BuildStageOptions{
			MirrorDir: src.MirrorDir(), WorkRoot: filepath.Join(d.stateDir, "pipeline", "work"),
			Project: svc.Name, Flow: d.cfg.Release.FlowOptions(), Env: env, Secrets: secrets, Getenv: getenv,
			SecretEnv: pc.Build.SecretEnv, PassEnv: pc.Build.PassEnv,
			Image: img.build, CodeBuild: codeBuild,
		}),
		pipeline.DeployStage(d.rel, src.MirrorDir()),
	}
	runner, err := pipeline.NewRunner(pipeline.RunnerOptions{
		Mode: pc.Mode, Stages: stages, Executions: execs, Secrets: secrets,
		MaxLogBytes: pc.Build.MaxLogBytes, KeepExecutions: pc.KeepExecutions, Log: d.log.With("component", "pipeline"),
		Live: pipeline.LiveVersion(d.rel.Live, execs),
	})
	if err != nil {
		return nil, err
	}
	if err := runner.Recover(ctx); err != nil {
		return nil, err
	}
	p := &localPipeline{source: src, runner: runner, execs: execs, log: d.log}
	// The first poll happens before the daemon says it is ready: on a new
	// state directory it records the baseline, so a tag pushed as soon as
	// `canaryflow up` is ready is new, not part of the baseline; with saved
	// state it finds the tags pushed while the daemon was down.
	if p.initial, err = src.Poll(ctx); err != nil {
		d.log.Warn("first poll of the source failed; retrying in the background", "err", err)
	}
	if secret := getenv(pc.WebhookSecretEnv); secret != "" {
		p.webhook, err = pipeline.NewWebhook(pipeline.WebhookOptions{
			Secret: []byte(secret), OnTag: func(string) { src.Poke() }, Log: d.log.With("component", "webhook"),
		})
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// localCodeBuild is the Build stage's stand-in for CodeBuild: the
// embedded registry as ECR, the Docker engine the image step uses, the
// aws section's region and account.
func localCodeBuild(d pipelineDeps, repo string, img *imageStep) (*build.LocalCodeBuild, error) {
	pc := d.cfg.Pipeline
	cb := &build.LocalCodeBuild{
		Registry: d.regHost, Repository: repo, Container: d.cfg.Service.Container.Name,
		Region: d.cfg.AWS.Region, Account: d.cfg.AWS.Account,
		Grant: d.reg.Grant, TTL: pc.Build.Timeout.D(),
		Resolve: d.reg.ResolveDigest,
		DockerReady: func(ctx context.Context) error {
			if img.engine.Client(ctx) == nil {
				return errors.New("no engine at DOCKER_HOST or the default socket")
			}
			return nil
		},
	}
	if pc.Build.AWSPassthrough {
		p, err := exec.LookPath("aws")
		if err != nil {
			return nil, errors.New("pipeline.build.aws_passthrough is on, but no aws command is on PATH: install the AWS CLI or turn it off")
		}
		cb.AWSCLI = p
	}
	if err := cb.Validate(); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return cb, nil
}

// run polls the source until ctx is done and waits for executions to end.
func (p *localPipeline) run(ctx context.Context) {
	p.runner.Resume(ctx)
	for _, rel := range p.initial {
		if _, _, err := p.runner.Start(ctx, rel, "poll"); err != nil {
			p.log.Error("start execution", "tag", rel.Tag, "err", err)
		}
	}
	err := p.source.Run(ctx, func(rel pipeline.Release) {
		if _, _, err := p.runner.Start(ctx, rel, "poll"); err != nil {
			p.log.Error("start execution", "tag", rel.Tag, "err", err)
		}
	})
	if err != nil {
		p.log.Error("source stopped", "err", err)
	}
	p.runner.Wait()
}

// register adds the pipeline's API routes.
func (p *localPipeline) register(mux *http.ServeMux) {
	(&pipeline.API{Runner: p.runner, Executions: p.execs, Resolve: p.source.Resolve}).Register(mux)
}

// imageStep builds the image of a workspace with build.Image and pushes it
// to the embedded registry, tagged with the version and the short commit.
type imageStep struct {
	mode, pkg, repo   string
	regHost, regToken string
	timeout           time.Duration
	engine            build.Engine // opened at the first build that needs it
}

func (s *imageStep) build(ctx context.Context, ws string, e *pipeline.Execution, log io.Writer) (string, error) {
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	tag := strings.ReplaceAll(e.Version, "+", "_") // registry tags have no '+'
	opts := build.ImageOptions{
		Builder: s.mode, PreferDockerfile: true, Dir: ws, Package: s.pkg, Name: s.repo[strings.LastIndex(s.repo, "/")+1:],
		Version: e.Version, Commit: e.Commit, AlsoTags: []string{e.Commit[:7]},
		Target: build.Target{Registry: s.regHost, Repository: s.repo, Tag: tag, Token: s.regToken},
		Engine: &s.engine, Progress: log,
	}
	var err error
	if opts.Builder, err = build.Choose(ctx, opts); err != nil {
		return "", err
	}
	if opts.Builder == build.BuilderDockerfile {
		fmt.Fprintf(log, "[canaryflow] docker build (Dockerfile) → %s/%s:%s\n", s.regHost, s.repo, tag)
	} else {
		fmt.Fprintf(log, "[canaryflow] daemonless Go build of %s → %s/%s:%s\n", s.pkg, s.regHost, s.repo, tag)
	}
	ref, err := build.Image(ctx, opts)
	if errors.Is(err, build.ErrNoEngine) {
		return "", fmt.Errorf("pipeline.build.image is %s: %w", s.mode, err)
	}
	if err != nil {
		return "", err
	}
	return ref.String(), nil
}
