// Package runtime runs tasks — containers of one image with env and a port —
// the way ECS Fargate runs a task set's tasks, with two implementations:
// Docker (the engine API) and Process (the image unpacked and its entrypoint
// run as a child process, for hosts without an engine).
//
// The deployment controller starts blue and green task sets through the
// Runtime interface and finds their tasks again by label after a restart.
package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"time"
)

// Labels canaryflow puts on every task, so tasks are found again by service,
// task set and revision (and told apart from anything else on the host).
const (
	LabelManaged     = "canaryflow.managed"
	LabelService     = "canaryflow.service"
	LabelTaskSet     = "canaryflow.taskset"
	LabelRevision    = "canaryflow.revision"
	LabelImageDigest = "canaryflow.image-digest"
	// LabelOwner names the canaryflow state a container belongs to (see
	// OwnerOf), so that two daemons on one Docker engine, each with its
	// own state directory, do not adopt or stop each other's tasks of a
	// service with the same name.
	LabelOwner = "canaryflow.owner"
)

// OwnerOf is the owner label of the tasks run for a state directory: a
// digest of its absolute path, the same for the daemon and the command
// line of one state.
func OwnerOf(stateDir string) string {
	if abs, err := filepath.Abs(stateDir); err == nil {
		stateDir = abs
	}
	sum := sha256.Sum256([]byte(filepath.Clean(stateDir)))
	return hex.EncodeToString(sum[:8])
}

// DefaultContainerPort is the port a task listens on when TaskSpec leaves
// ContainerPort zero; the task gets it in $PORT.
const DefaultContainerPort = 8080

// Errors shared by the runtimes.
var (
	ErrNotFound   = errors.New("task not found")
	ErrRunning    = errors.New("task is running")
	ErrNoEngine   = errors.New("no docker engine answers")
	ErrBadImage   = errors.New("image cannot run")
	ErrBadRuntime = errors.New("unknown runtime")
)

// TaskSpec is what to run: the local task definition.
type TaskSpec struct {
	// Image is the image reference, best with its digest
	// (127.0.0.1:5000/hello@sha256:…). Required.
	Image string
	// Env is added to the image's environment. PORT is always set to the
	// port the task must listen on. The process runtime also sets
	// HOST=127.0.0.1 (unless Env sets HOST), so a service that reads HOST
	// stays on loopback: it has no network namespace around it.
	Env map[string]string
	// ContainerPort is the port inside the task. Zero: DefaultContainerPort.
	// The process runtime has no port mapping: there the task listens on the
	// host port, which is what $PORT says.
	ContainerPort int
	// HostPort is the 127.0.0.1 port the task is reachable on. Zero: a free
	// port is picked.
	HostPort int
	// Service, TaskSet and Revision label the task (may be empty).
	Service, TaskSet, Revision string
	// Labels are extra labels; the three above override same-named keys.
	Labels map[string]string
}

// Validate reports a spec that cannot start.
func (s TaskSpec) Validate() error {
	if s.Image == "" {
		return errors.New("task spec: Image is required")
	}
	if s.ContainerPort < 0 || s.ContainerPort > 65535 || s.HostPort < 0 || s.HostPort > 65535 {
		return errors.New("task spec: ports must be within 0..65535")
	}
	for k := range s.Env {
		if k == "" || containsAny(k, "=\x00") {
			return fmt.Errorf("task spec: bad environment variable name %q", k)
		}
	}
	return nil
}

func containsAny(s, chars string) bool {
	for _, c := range s {
		for _, d := range chars {
			if c == d {
				return true
			}
		}
	}
	return false
}

func (s TaskSpec) containerPort() int {
	if s.ContainerPort == 0 {
		return DefaultContainerPort
	}
	return s.ContainerPort
}

// labels returns the full label set of a task started from s.
func (s TaskSpec) labels(digest string) map[string]string {
	l := maps.Clone(s.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelManaged] = "true"
	l[LabelService] = s.Service
	l[LabelTaskSet] = s.TaskSet
	l[LabelRevision] = s.Revision
	if digest != "" {
		l[LabelImageDigest] = digest
	}
	return l
}

// State is where a task is in its life.
type State string

// Task states.
const (
	StateRunning State = "running"
	StateExited  State = "exited"
)

// Task is a started task as a runtime reports it.
type Task struct {
	// ID names the task to Stop, Status, Logs and Remove.
	ID string `json:"id"`
	// Runtime is "docker" or "process".
	Runtime string `json:"runtime"`
	// Image is the reference it was started from; ImageDigest its digest.
	Image       string `json:"image"`
	ImageDigest string `json:"imageDigest,omitempty"`
	// Addr is where the task answers: 127.0.0.1:port.
	Addr   string            `json:"addr"`
	Labels map[string]string `json:"labels"`
	State  State             `json:"state"`
	// ExitCode is set once State is exited; -1 when it is unknown.
	ExitCode int `json:"exitCode"`
	// Reason says why a task exited: "stopped" after Stop, "crashed" for any
	// other non-zero exit, "completed" for exit 0, "lost" when the process
	// runtime finds its process gone with no recorded status.
	Reason     string    `json:"reason,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// PID is the process id (process runtime only).
	PID int `json:"pid,omitempty"`
}

// Runtime starts and manages tasks. Implementations are safe for
// concurrent use and find tasks started by an earlier instance.
type Runtime interface {
	// Name is "docker" or "process".
	Name() string
	// Start starts a task and returns once it runs (not once it is healthy).
	Start(ctx context.Context, spec TaskSpec) (Task, error)
	// Stop sends SIGTERM, then SIGKILL after grace. Stopping an exited task
	// does nothing.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Status reports a task.
	Status(ctx context.Context, id string) (Task, error)
	// Logs returns the task's output; with follow it stays open until the
	// task exits or ctx is done.
	Logs(ctx context.Context, id string, follow bool) (io.ReadCloser, error)
	// List returns the tasks carrying every label given (all tasks for none).
	List(ctx context.Context, labels map[string]string) ([]Task, error)
	// Remove deletes an exited task's record; ErrRunning if it runs.
	Remove(ctx context.Context, id string) error
}

// matches reports whether have carries every label of want.
func matches(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// exitReason names why a task ended.
func exitReason(code int, stopped bool) string {
	switch {
	case stopped:
		return "stopped"
	case code == 0:
		return "completed"
	default:
		return "crashed"
	}
}
