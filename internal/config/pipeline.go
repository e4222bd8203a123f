package config

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// Pipeline is the `pipeline` section: the local CodePipeline that turns a
// pushed release tag into a build and a deployment. It needs a service
// section; without a pipeline section `canaryflow up` deploys only what it
// is told to.
type Pipeline struct {
	// Source is the repository to watch: any URL git can fetch, a local
	// bare repository included. Zero means the URL of release.remote in the
	// repository canaryflow runs in.
	Source string `yaml:"source"`
	// PollInterval is how often the source is polled with git ls-remote.
	// Zero means 1s (meant for local remotes; use a webhook for GitHub). A
	// source on this machine is also polled as soon as its refs change
	// (looked at every 100ms, without running git).
	PollInterval Duration `yaml:"poll_interval"`
	// Tags filters the tags that trigger, as a CodePipeline V2 trigger.
	Tags TagFilter `yaml:"tags"`
	// Mode is SUPERSEDED (zero value) or QUEUED, as CodePipeline's.
	Mode string `yaml:"mode"`
	// WebhookSecretEnv names the environment variable holding the GitHub
	// webhook secret. Zero means CANARYFLOW_WEBHOOK_SECRET; the webhook
	// endpoint is served only when that variable is set.
	WebhookSecretEnv string `yaml:"webhook_secret_env"`
	// Build is the Build stage.
	Build PipelineBuild `yaml:"build"`
	// KeepExecutions is how many executions are kept: when one ends, older
	// finished ones are deleted with their logs. Zero means
	// DefaultKeepExecutions.
	KeepExecutions int `yaml:"keep_executions"`
}

// DefaultKeepExecutions is how many pipeline executions, with their logs,
// are kept when pipeline.keep_executions is not set.
const DefaultKeepExecutions = 100

// DefaultMaxLogBytes bounds each stage's stored log when
// pipeline.build.max_log_bytes is not set.
const DefaultMaxLogBytes = 10 << 20

// minLogBytes is the smallest log limit accepted: less would cut a build
// log before its first error.
const minLogBytes = 4 << 10

// TagFilter holds include and exclude globs for tag names.
type TagFilter struct {
	Include []string `yaml:"include"` // zero: [v*]
	Exclude []string `yaml:"exclude"`
}

// PipelineBuild configures the Build stage.
type PipelineBuild struct {
	// Image is how the image is built: "go" (daemonless, a static binary on
	// an empty base), "dockerfile" (through the Docker engine) or "auto"
	// (zero value: dockerfile when the repository has a Dockerfile and an
	// engine answers, else go).
	Image string `yaml:"image"`
	// Package is the Go main package for daemonless builds. Zero means ".".
	Package string `yaml:"package"`
	// Repository is the image repository. Zero means the service name.
	Repository string `yaml:"repository"`
	// Env is added to the buildspec's environment.
	Env map[string]string `yaml:"env"`
	// SecretEnv names variables of canaryflow's own environment passed to
	// the build whose values are secret: redacted from logs, the API and
	// errors.
	SecretEnv []string `yaml:"secret_env"`
	// PassEnv names variables of canaryflow's own environment passed, as
	// they are, to the buildspec's commands. Builds otherwise inherit only
	// PATH, HOME, TMPDIR, LANG, LC_* and DOCKER_HOST, DOCKER_CONTEXT,
	// DOCKER_CONFIG, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY; never the API
	// token, the webhook secret or the user's cloud and GitHub tokens
	// unless listed here (a secret belongs in secret_env, which redacts it).
	PassEnv []string `yaml:"pass_env"`
	// AWSPassthrough hands the AWS CLI commands a build runs, other than the
	// two the local build answers itself (ecr get-login-password, sts
	// get-caller-identity), to the real AWS CLI on PATH. Zero refuses them
	// with a message naming the command.
	AWSPassthrough bool `yaml:"aws_passthrough"`
	// Timeout bounds a build. Zero means 30m.
	Timeout Duration `yaml:"timeout"`
	// MaxLogBytes bounds each stage's stored log, in bytes; past it one
	// line says the log was truncated and later output is dropped. Zero
	// means DefaultMaxLogBytes (10 MiB).
	MaxLogBytes int64 `yaml:"max_log_bytes"`
}

var envVarName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (p *Pipeline) applyDefaults(r Release) {
	if p.PollInterval == 0 {
		p.PollInterval = Duration(time.Second)
	}
	if len(p.Tags.Include) == 0 {
		p.Tags.Include = []string{r.TagPrefix + "*"}
	}
	if p.Mode == "" {
		p.Mode = "SUPERSEDED"
	}
	if p.WebhookSecretEnv == "" {
		p.WebhookSecretEnv = "CANARYFLOW_WEBHOOK_SECRET"
	}
	if p.Build.Image == "" {
		p.Build.Image = "auto"
	}
	if p.Build.Package == "" {
		p.Build.Package = "."
	}
	if p.Build.Timeout == 0 {
		p.Build.Timeout = Duration(30 * time.Minute)
	}
	if p.Build.MaxLogBytes == 0 {
		p.Build.MaxLogBytes = DefaultMaxLogBytes
	}
	if p.KeepExecutions == 0 {
		p.KeepExecutions = DefaultKeepExecutions
	}
}

func (p *Pipeline) validate(file string, data []byte, svc *Service) []error {
	var errs []error
	add := func(field, format string, a ...any) {
		full := "pipeline"
		if field != "" {
			full += "." + field
		}
		errs = append(errs, fieldError(file, data, full, format, a...))
	}
	if svc == nil {
		add("", "a pipeline deploys a service: add a service section (canaryflow init writes one)")
	}
	if strings.HasPrefix(p.Source, "-") {
		add("source", "%q looks like an option, not a repository URL", p.Source)
	}
	if p.PollInterval.D() < 100*time.Millisecond {
		add("poll_interval", "%s is too short: at least 100ms", p.PollInterval.D())
	}
	for i, g := range p.Tags.Include {
		if _, err := path.Match(g, ""); err != nil {
			add(fmt.Sprintf("tags.include[%d]", i), "%q is not a valid glob: %v", g, err)
		}
	}
	for i, g := range p.Tags.Exclude {
		if _, err := path.Match(g, ""); err != nil {
			add(fmt.Sprintf("tags.exclude[%d]", i), "%q is not a valid glob: %v", g, err)
		}
	}
	switch p.Mode {
	case "SUPERSEDED", "QUEUED":
	default:
		add("mode", "%q: want SUPERSEDED or QUEUED", p.Mode)
	}
	if !envVarName.MatchString(p.WebhookSecretEnv) {
		add("webhook_secret_env", "%q is not an environment variable name", p.WebhookSecretEnv)
	}
	switch p.Build.Image {
	case "auto", "go", "dockerfile":
	default:
		add("build.image", "%q: want auto, go or dockerfile", p.Build.Image)
	}
	if strings.HasPrefix(p.Build.Package, "-") || strings.HasPrefix(p.Build.Package, "/") || strings.Contains("/"+p.Build.Package+"/", "/../") {
		add("build.package", "%q must be a relative package path inside the repository, like . or ./cmd/server", p.Build.Package)
	}
	if p.Build.Repository != "" && !regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$`).MatchString(p.Build.Repository) {
		add("build.repository", "%q is not a valid image repository name (lower case letters, digits, . _ - and /)", p.Build.Repository)
	}
	for k := range p.Build.Env {
		if !envVarName.MatchString(k) {
			add("build.env", "%q is not an environment variable name", k)
		}
	}
	for i, k := range p.Build.SecretEnv {
		if !envVarName.MatchString(k) {
			add(fmt.Sprintf("build.secret_env[%d]", i), "%q is not an environment variable name", k)
		}
	}
	if p.Build.MaxLogBytes < minLogBytes {
		add("build.max_log_bytes", "%d: want at least %d bytes", p.Build.MaxLogBytes, minLogBytes)
	}
	if p.KeepExecutions < 1 {
		add("keep_executions", "%d: want a positive number of executions", p.KeepExecutions)
	}
	for i, k := range p.Build.PassEnv {
		if !envVarName.MatchString(k) {
			add(fmt.Sprintf("build.pass_env[%d]", i), "%q is not an environment variable name", k)
		}
	}
	return errs
}
