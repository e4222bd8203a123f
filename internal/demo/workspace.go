package demo

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/canaryflow/canaryflow/examples"
	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/flow"
	"github.com/canaryflow/canaryflow/internal/git"
	"github.com/canaryflow/canaryflow/internal/server"
)

const buildspec = `version: 0.2
phases:
  pre_build:
    commands:
      - go vet ./...
  build:
    commands:
      - echo "Building hello $CANARYFLOW_VERSION at $CODEBUILD_RESOLVED_SOURCE_VERSION"
`

const configTemplate = `# canaryflow.yaml written by canaryflow demo
service:
  name: hello
  container: {name: hello, port: 3000}
  desired_count: 1
  health_check: {path: /healthz, interval: 500ms, timeout: 400ms, healthy_threshold: 2, unhealthy_threshold: 2}
  listeners: {production_port: %d, test_port: %d}
  deployment_config: {type: TimeBasedCanary, percent: 10, interval: %d}
  termination_wait: 2s
  alarms: {period: 250ms, evaluation_periods: 3, datapoints_to_alarm: 2, min_requests: 5, error_rate_percent: 5}
  runtime: %s
pipeline:
  source: ../origin.git
  poll_interval: 200ms
  build: {image: go}
`

// makeRepo creates origin.git and hello/ with the service on main and
// develop, the way a team's repository starts.
func (d *session) makeRepo(ctx context.Context, mode string, prodPort, testPort int) error {
	origin, dir := filepath.Join(d.ws, "origin.git"), filepath.Join(d.ws, "hello")
	ws := &git.Repo{Dir: d.ws}
	if _, err := ws.Run(ctx, "init", "--quiet", "--bare", "--", origin); err != nil {
		return err
	}
	if _, err := ws.Run(ctx, "init", "--quiet", "--", dir); err != nil {
		return err
	}
	d.repo = &git.Repo{Dir: dir, Env: []string{
		"GIT_AUTHOR_NAME=canaryflow demo", "GIT_AUTHOR_EMAIL=demo@canaryflow.invalid",
		"GIT_COMMITTER_NAME=canaryflow demo", "GIT_COMMITTER_EMAIL=demo@canaryflow.invalid",
	}}
	if _, err := d.repo.Run(ctx, "remote", "add", "origin", origin); err != nil {
		return err
	}
	files := map[string]string{
		"go.mod":          "module example.com/hello\n\ngo 1.26\n",
		".buildspec.yml":  buildspec,
		"canaryflow.yaml": fmt.Sprintf(configTemplate, prodPort, testPort, int(d.o.Canary.Seconds()), mode),
		".gitignore":      "/hello\n",
	}
	for _, name := range []string{"main.go", "VERSION", "Dockerfile"} {
		b, err := fs.ReadFile(examples.Hello, "hello/"+name)
		if err != nil {
			return err
		}
		files[name] = string(b)
	}
	files["VERSION"] = "0.0.0\n"
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	cfg, err := config.Load(dir, "")
	if err != nil {
		return err
	}
	d.flow, err = flow.New(d.repo, cfg.Release.FlowOptions(), io.Discard)
	if err != nil {
		return err
	}
	if err := d.flow.Init(ctx); err != nil {
		return err
	}
	if err := d.repo.Commit(ctx, "chore: the hello service", "."); err != nil {
		return err
	}
	if _, err := d.repo.Run(ctx, "branch", "--force", "develop", "main"); err != nil {
		return err
	}
	_, err = d.repo.Run(ctx, "push", "--quiet", "origin", "main", "develop")
	return err
}

// startDaemon runs `canaryflow up` in this process.
func (d *session) startDaemon(ctx context.Context) (stop func(), err error) {
	dir := filepath.Join(d.ws, "hello")
	cfg, err := config.Load(dir, "")
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(d.ws, "daemon.log"))
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan server.Info, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(dctx, server.Options{
			Config: cfg, StateDir: filepath.Join(d.ws, "state"), Dir: dir,
			APIAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0", StopTasksOnExit: true,
			Logger: slog.New(slog.NewTextHandler(logf, nil)), Ready: func(i server.Info) { ready <- i },
		})
	}()
	stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			fmt.Fprintln(d.out, "warning: the daemon did not stop within 30s")
		}
		logf.Close()
	}
	select {
	case info := <-ready:
		d.client = &server.Client{Addr: info.API, Token: info.Token}
		d.reg = info.Registry
		fmt.Fprintf(d.out, "  daemon      API %s, registry %s (log: daemon.log)\n", info.API, info.Registry)
		if path, err := d.client.DashboardLink(ctx); err == nil {
			fmt.Fprintf(d.out, "  dashboard   http://%s%s (a sign-in link for one browser, for two minutes)\n", info.API, path)
		}
		fmt.Fprintln(d.out)
		return stop, nil
	case err := <-done:
		logf.Close()
		cancel()
		return nil, fmt.Errorf("canaryflow up: %w", err)
	case <-ctx.Done():
		stop()
		return nil, ctx.Err()
	}
}
