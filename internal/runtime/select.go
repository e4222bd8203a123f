package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/docker/docker/client"
)

// Runtime names accepted by Select.
const (
	ModeAuto    = "auto"
	ModeDocker  = "docker"
	ModeProcess = "process"
)

// SelectOptions configures Select.
type SelectOptions struct {
	// Mode is auto, docker or process. Empty: auto (docker when an engine
	// answers, else process).
	Mode string
	// StateDir is the process runtime's directory. Required for process.
	// The docker runtime labels its containers with OwnerOf(StateDir) and
	// lists only those (and unlabelled ones from before).
	StateDir string
	// RegistryToken authenticates image pulls from canaryflow's registry.
	RegistryToken string
	// RegistryHost is that registry's host:port, the only registry the
	// token is sent to. Empty: the token is sent nowhere.
	RegistryHost string
	// Logger receives runtime logs. Nil: discarded.
	Logger *slog.Logger
}

// Select returns the runtime the options ask for. With auto it asks the
// Docker engine (from DOCKER_HOST or the default socket) for a ping, waiting
// at most two seconds, and falls back to the process runtime.
func Select(ctx context.Context, opts SelectOptions) (Runtime, error) {
	mode := opts.Mode
	if mode == "" {
		mode = ModeAuto
	}
	switch mode {
	case ModeProcess:
		return NewProcess(ProcessOptions{Dir: opts.StateDir, RegistryToken: opts.RegistryToken, RegistryHost: opts.RegistryHost, Logger: opts.Logger})
	case ModeDocker, ModeAuto:
		cli, err := pingEngine(ctx)
		if err == nil {
			var owner string
			if opts.StateDir != "" {
				owner = OwnerOf(opts.StateDir)
			}
			return NewDocker(DockerOptions{Client: cli, RegistryToken: opts.RegistryToken, RegistryHost: opts.RegistryHost, Logger: opts.Logger, Owner: owner})
		}
		if mode == ModeDocker {
			return nil, err
		}
		return NewProcess(ProcessOptions{Dir: opts.StateDir, RegistryToken: opts.RegistryToken, RegistryHost: opts.RegistryHost, Logger: opts.Logger})
	default:
		return nil, fmt.Errorf("select runtime %q: %w (want auto, docker or process)", mode, ErrBadRuntime)
	}
}

// pingEngine returns a client to an engine that answered.
func pingEngine(ctx context.Context) (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("%w: %v", ErrNoEngine, err)
	}
	return cli, nil
}
