package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	dockerregistry "github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/canaryflow/canaryflow/internal/registry"
)

// DockerAPI is the part of the Docker Engine API client the docker runtime
// uses (*client.Client satisfies it).
type DockerAPI interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImagePull(ctx context.Context, ref string, options image.PullOptions) (io.ReadCloser, error)
	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, id string, options container.StartOptions) error
	ContainerStop(ctx context.Context, id string, options container.StopOptions) error
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerLogs(ctx context.Context, id string, options container.LogsOptions) (io.ReadCloser, error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerRemove(ctx context.Context, id string, options container.RemoveOptions) error
}

// DockerOptions configures the docker runtime.
type DockerOptions struct {
	// Client talks to the engine; build it with
	// client.WithAPIVersionNegotiation so older engines work. Required.
	Client DockerAPI
	// RegistryToken authenticates pulls from canaryflow's registry.
	RegistryToken string
	// RegistryHost is that registry's host:port: the engine is given the
	// token for pulls from there, exactly, and for no other registry.
	// Empty: the token is given for no pull.
	RegistryHost string
	// Logger receives runtime logs. Nil: discarded.
	Logger *slog.Logger
	// Owner, when set, labels every container started (LabelOwner), and
	// List leaves out containers another owner labelled. Containers
	// without the label (started before it existed) are listed by all.
	Owner string
}

// Docker runs tasks as containers of the local engine, labelled so that a
// new canaryflow process finds (re-adopts) them by label: the engine is the
// state, nothing is kept in memory but which stops this instance asked for.
type Docker struct {
	opts DockerOptions
	log  *slog.Logger

	mu      sync.Mutex
	stopped map[string]bool
}

// NewDocker returns a docker runtime.
func NewDocker(opts DockerOptions) (*Docker, error) {
	if opts.Client == nil {
		return nil, errors.New("docker runtime options: Client is required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Docker{opts: opts, log: log, stopped: map[string]bool{}}, nil
}

// Name returns "docker".
func (d *Docker) Name() string { return ModeDocker }

// Start pulls the image unless the engine has it, then creates and starts a
// container with the port published on 127.0.0.1.
func (d *Docker) Start(ctx context.Context, spec TaskSpec) (Task, error) {
	if err := spec.Validate(); err != nil {
		return Task{}, err
	}
	parsed, err := registry.ParseRef(spec.Image)
	if err != nil {
		return Task{}, fmt.Errorf("start task: %w: %v", ErrBadImage, err)
	}
	if parsed.Digest != "" {
		parsed.Tag = "" // the engine pulls and names by digest
	}
	ref := parsed.String()
	if err := d.ensureImage(ctx, ref); err != nil {
		return Task{}, err
	}
	cport := nat.Port(strconv.Itoa(spec.containerPort()) + "/tcp")
	hostPort := ""
	if spec.HostPort != 0 {
		hostPort = strconv.Itoa(spec.HostPort)
	}
	env := []string{"PORT=" + strconv.Itoa(spec.containerPort())}
	for k, v := range spec.Env {
		if k != "PORT" {
			env = append(env, k+"="+v)
		}
	}
	sort.Strings(env)
	resp, err := d.opts.Client.ContainerCreate(ctx,
		&container.Config{
			Image:        ref,
			Env:          env,
			Labels:       d.labels(spec, parsed.Digest),
			ExposedPorts: nat.PortSet{cport: struct{}{}},
			StopSignal:   "SIGTERM",
		},
		&container.HostConfig{
			PortBindings: nat.PortMap{cport: {{HostIP: "127.0.0.1", HostPort: hostPort}}},
		},
		nil, nil, "canaryflow-"+newID()[:12])
	if err != nil {
		return Task{}, fmt.Errorf("create container from %s: %w", ref, err)
	}
	if err := d.opts.Client.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		d.opts.Client.ContainerRemove(context.WithoutCancel(ctx), resp.ID, container.RemoveOptions{Force: true})
		return Task{}, fmt.Errorf("start container %s: %w", resp.ID[:12], err)
	}
	t, err := d.Status(ctx, resp.ID)
	if err != nil {
		return Task{}, err
	}
	d.log.Info("task started", "id", t.ID[:12], "image", ref, "addr", t.Addr)
	return t, nil
}

// ensureImage pulls ref from its registry unless the engine already has it.
func (d *Docker) ensureImage(ctx context.Context, ref string) error {
	if _, err := d.opts.Client.ImageInspect(ctx, ref); err == nil {
		return nil
	}
	host := ""
	if p, err := registry.ParseRef(ref); err == nil {
		host = p.Host
	}
	auth := ""
	cred := registry.Credential{Host: d.opts.RegistryHost, Token: d.opts.RegistryToken}
	if user, pass, ok := cred.For(host); ok {
		var err error
		if auth, err = dockerregistry.EncodeAuthConfig(dockerregistry.AuthConfig{
			Username: user, Password: pass, ServerAddress: host,
		}); err != nil {
			return fmt.Errorf("pull %s: %w", ref, err)
		}
	}
	rc, err := d.opts.Client.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("pull %s: %w", ref, err)
		}
		if m.Error != "" {
			return fmt.Errorf("pull %s: %s", ref, m.Error)
		}
	}
}

// Stop sends SIGTERM and, after grace (rounded up to whole seconds, the
// engine's unit), SIGKILL.
func (d *Docker) Stop(ctx context.Context, id string, grace time.Duration) error {
	t, err := d.Status(ctx, id)
	if err != nil {
		return err
	}
	if t.State == StateExited {
		return nil
	}
	d.mu.Lock()
	d.stopped[t.ID] = true
	d.mu.Unlock()
	secs := int(math.Ceil(grace.Seconds()))
	if err := d.opts.Client.ContainerStop(ctx, t.ID, container.StopOptions{Signal: "SIGTERM", Timeout: &secs}); err != nil {
		return fmt.Errorf("stop task %s: %w", shortID(t.ID), err)
	}
	return nil
}

// Status inspects the task's container.
func (d *Docker) Status(ctx context.Context, id string) (Task, error) {
	c, err := d.opts.Client.ContainerInspect(ctx, id)
	if err != nil {
		if errdefsNotFound(err) {
			return Task{}, fmt.Errorf("task %s: %w", id, ErrNotFound)
		}
		return Task{}, fmt.Errorf("inspect task %s: %w", id, err)
	}
	if c.Config == nil || c.Config.Labels[LabelManaged] != "true" {
		return Task{}, fmt.Errorf("task %s: %w (not a canaryflow container)", id, ErrNotFound)
	}
	t := Task{
		ID: c.ID, Runtime: ModeDocker, Image: c.Config.Image,
		ImageDigest: c.Config.Labels[LabelImageDigest], Labels: c.Config.Labels,
		State: StateExited,
	}
	if c.State != nil {
		t.StartedAt, _ = time.Parse(time.RFC3339Nano, c.State.StartedAt)
		if c.State.Running || c.State.Restarting || c.State.Status == "created" {
			t.State = StateRunning
			t.PID = c.State.Pid
		} else {
			t.ExitCode = c.State.ExitCode
			t.FinishedAt, _ = time.Parse(time.RFC3339Nano, c.State.FinishedAt)
			d.mu.Lock()
			t.Reason = exitReason(t.ExitCode, d.stopped[c.ID])
			d.mu.Unlock()
			if c.State.OOMKilled {
				t.Reason = "crashed (out of memory)"
			}
		}
	}
	if c.NetworkSettings != nil {
		for _, b := range c.NetworkSettings.Ports {
			for _, pb := range b {
				if pb.HostIP == "127.0.0.1" && pb.HostPort != "" {
					t.Addr = "127.0.0.1:" + pb.HostPort
				}
			}
		}
	}
	if t.Addr == "" && c.HostConfig != nil {
		for _, b := range c.HostConfig.PortBindings {
			for _, pb := range b {
				if pb.HostPort != "" {
					t.Addr = "127.0.0.1:" + pb.HostPort
				}
			}
		}
	}
	return t, nil
}

// Logs returns the container's stdout and stderr, demultiplexed.
func (d *Docker) Logs(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	t, err := d.Status(ctx, id)
	if err != nil {
		return nil, err
	}
	rc, err := d.opts.Client.ContainerLogs(ctx, t.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow})
	if err != nil {
		return nil, fmt.Errorf("logs of task %s: %w", shortID(t.ID), err)
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := stdcopy.StdCopy(pw, pw, rc)
		pw.CloseWithError(err)
	}()
	return &demuxReader{PipeReader: pr, src: rc, done: done}, nil
}

// demuxReader owns the goroutine that demultiplexes the engine's stream.
type demuxReader struct {
	*io.PipeReader
	src  io.Closer
	done chan struct{}
}

// Close ends the stream and waits for its goroutine.
func (r *demuxReader) Close() error {
	r.src.Close()
	r.PipeReader.Close()
	<-r.done
	return nil
}

// labels is the label set of a container started from spec.
func (d *Docker) labels(spec TaskSpec, digest string) map[string]string {
	l := spec.labels(digest)
	if d.opts.Owner != "" {
		l[LabelOwner] = d.opts.Owner
	}
	return l
}

// List returns canaryflow's containers carrying every label given, running
// or exited, oldest first; with an Owner, not those of another owner.
func (d *Docker) List(ctx context.Context, labels map[string]string) ([]Task, error) {
	f := filters.NewArgs(filters.Arg("label", LabelManaged+"=true"))
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	cs, err := d.opts.Client.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	out := make([]Task, 0, len(cs))
	for _, c := range cs {
		if owner := c.Labels[LabelOwner]; owner != "" && d.opts.Owner != "" && owner != d.opts.Owner {
			continue // another state's task
		}
		t, err := d.Status(ctx, c.ID)
		if errors.Is(err, ErrNotFound) {
			continue // removed in between
		}
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.Before(out[j].StartedAt) })
	return out, nil
}

// Remove deletes an exited task's container.
func (d *Docker) Remove(ctx context.Context, id string) error {
	t, err := d.Status(ctx, id)
	if err != nil {
		return err
	}
	if t.State == StateRunning {
		return fmt.Errorf("remove task %s: %w", shortID(t.ID), ErrRunning)
	}
	if err := d.opts.Client.ContainerRemove(ctx, t.ID, container.RemoveOptions{}); err != nil {
		return fmt.Errorf("remove task %s: %w", shortID(t.ID), err)
	}
	d.mu.Lock()
	delete(d.stopped, t.ID)
	d.mu.Unlock()
	return nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// errdefsNotFound reports the engine's "no such container".
func errdefsNotFound(err error) bool {
	return client.IsErrNotFound(err) || strings.Contains(err.Error(), "No such container")
}
