package awsfmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/canaryflow/canaryflow/internal/userfile"
)

// TaskDefFileName is the conventional name of an ECS task definition file.
const TaskDefFileName = "taskdef.json"

// ImagePlaceholder is the image placeholder CodePipeline's ECS blue/green
// action replaces with the built image; canaryflow does the same.
const ImagePlaceholder = "<IMAGE1_NAME>"

// TaskDef is the part of an ECS task definition canaryflow runs: the
// containers with their images, ports and environment, and the task's
// CPU units and memory (MiB).
type TaskDef struct {
	Family     string
	CPU        int // task CPU units (1024 = one vCPU); 0 when not given
	Memory     int // task memory in MiB; 0 when not given
	Containers []Container
}

// Container is one container definition.
type Container struct {
	Name         string
	Image        string
	Essential    bool // ECS's default is true
	CPU          int
	Memory       int
	Command      []string
	EntryPoint   []string
	Environment  map[string]string
	PortMappings []PortMapping
}

// PortMapping is one container port.
type PortMapping struct {
	ContainerPort int
	HostPort      int
	Protocol      string // tcp (default) or udp
}

// Container returns the container called name, or nil.
func (t *TaskDef) Container(name string) *Container {
	for i := range t.Containers {
		if t.Containers[i].Name == name {
			return &t.Containers[i]
		}
	}
	return nil
}

// jsonNum accepts a JSON number or a string holding one, as ECS does for
// the task-level cpu and memory ("256" and 256 both register).
type jsonNum struct {
	set bool
	v   int
	raw string
}

func (n *jsonNum) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	n.set, n.raw = true, s
	v, err := strconv.Atoi(s)
	if err != nil {
		n.v = -1
		return nil // reported by validation, with its line
	}
	n.v = v
	return nil
}

type rawTaskDef struct {
	Family               string         `json:"family"`
	CPU                  jsonNum        `json:"cpu"`
	Memory               jsonNum        `json:"memory"`
	ContainerDefinitions []rawContainer `json:"containerDefinitions"`
}

type rawContainer struct {
	Name        string   `json:"name"`
	Image       string   `json:"image"`
	Essential   *bool    `json:"essential"`
	CPU         int      `json:"cpu"`
	Memory      int      `json:"memory"`
	Command     []string `json:"command"`
	EntryPoint  []string `json:"entryPoint"`
	Environment []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"environment"`
	PortMappings []struct {
		ContainerPort int    `json:"containerPort"`
		HostPort      int    `json:"hostPort"`
		Protocol      string `json:"protocol"`
	} `json:"portMappings"`
}

// ReadTaskDef reads and parses the task definition file at path.
func ReadTaskDef(path string) (*TaskDef, error) {
	data, err := userfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("read task definition: %w", err)
	}
	return ParseTaskDef(path, data)
}

// ParseTaskDef parses an ECS task definition in the JSON form of
// `aws ecs register-task-definition --cli-input-json` (or of
// describe-task-definition's taskDefinition). Keys ECS does not know are
// errors, so a typo such as "portMapping" is caught; keys ECS knows but
// canaryflow does not use are accepted and ignored.
func ParseTaskDef(name string, data []byte) (*TaskDef, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{Path: name, Msg: "empty task definition: want a JSON object with family and containerDefinitions"}
	}
	var generic map[string]any
	if err := json.Unmarshal(data, &generic); err != nil {
		return nil, jsonError(name, data, err)
	}
	var raw rawTaskDef
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, jsonError(name, data, err)
	}
	fe := func(field, format string, a ...any) error {
		return &Error{Path: name, Line: lineOf(data, field), Field: field, Msg: fmt.Sprintf(format, a...)}
	}
	errs := unknownKeys(generic, fe)
	td := &TaskDef{Family: raw.Family}
	if raw.Family == "" {
		errs = append(errs, &Error{Path: name, Field: "family", Msg: "missing"})
	}
	for _, n := range []struct {
		field string
		v     jsonNum
		dst   *int
	}{{"cpu", raw.CPU, &td.CPU}, {"memory", raw.Memory, &td.Memory}} {
		if n.v.set && n.v.v <= 0 {
			errs = append(errs, fe(n.field, "%q is not a positive whole number", n.v.raw))
		}
		*n.dst = max(n.v.v, 0)
	}
	if len(raw.ContainerDefinitions) == 0 {
		errs = append(errs, &Error{Path: name, Line: lineOf(data, "containerDefinitions"), Field: "containerDefinitions", Msg: "want at least one container"})
	}
	names := map[string]bool{}
	for i, rc := range raw.ContainerDefinitions {
		base := fmt.Sprintf("containerDefinitions[%d]", i)
		c := Container{Name: rc.Name, Image: rc.Image, Essential: rc.Essential == nil || *rc.Essential,
			CPU: rc.CPU, Memory: rc.Memory, Command: rc.Command, EntryPoint: rc.EntryPoint}
		switch {
		case rc.Name == "":
			errs = append(errs, fe(base, "name is missing"))
		case names[rc.Name]:
			errs = append(errs, fe(base+".name", "container %q is defined twice", rc.Name))
		}
		names[rc.Name] = true
		if strings.TrimSpace(rc.Image) == "" {
			errs = append(errs, fe(base, "image is missing (use %s to have canaryflow fill it in)", ImagePlaceholder))
		}
		if rc.CPU < 0 || rc.Memory < 0 {
			errs = append(errs, fe(base, "cpu and memory may not be negative"))
		}
		for j, e := range rc.Environment {
			if e.Name == "" {
				errs = append(errs, fe(fmt.Sprintf("%s.environment[%d]", base, j), "name is missing"))
				continue
			}
			if c.Environment == nil {
				c.Environment = map[string]string{}
			}
			c.Environment[e.Name] = e.Value
		}
		for j, pm := range rc.PortMappings {
			field := fmt.Sprintf("%s.portMappings[%d]", base, j)
			if pm.ContainerPort < 1 || pm.ContainerPort > 65535 {
				errs = append(errs, fe(field, "containerPort %d is not a port (1-65535)", pm.ContainerPort))
			}
			if pm.HostPort < 0 || pm.HostPort > 65535 {
				errs = append(errs, fe(field, "hostPort %d is not a port (0-65535)", pm.HostPort))
			}
			proto := pm.Protocol
			if proto == "" {
				proto = "tcp"
			}
			if proto != "tcp" && proto != "udp" {
				errs = append(errs, fe(field, "protocol %q: want tcp or udp", pm.Protocol))
			}
			c.PortMappings = append(c.PortMappings, PortMapping{ContainerPort: pm.ContainerPort, HostPort: pm.HostPort, Protocol: proto})
		}
		td.Containers = append(td.Containers, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return td, nil
}

// jsonError turns an encoding/json error into an *Error with a line.
func jsonError(name string, data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Path: name, Line: lineAt(data, se.Offset), Msg: "invalid JSON: " + se.Error()}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			return &Error{Path: name, Line: lineAt(data, te.Offset), Msg: fmt.Sprintf("want a JSON object, got %s", te.Value)}
		}
		return &Error{Path: name, Line: lineAt(data, te.Offset), Field: field,
			Msg: fmt.Sprintf("is a JSON %s; want %s", te.Value, te.Type)}
	}
	return &Error{Path: name, Msg: "invalid JSON: " + err.Error()}
}
