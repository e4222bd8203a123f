package awsfmt

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"

	"github.com/goccy/go-yaml"

	"github.com/canaryflow/canaryflow/internal/userfile"
)

// AppSpecFileName is the name CodeDeploy gives the ECS application
// specification file.
const AppSpecFileName = "appspec.yaml"

// ECS lifecycle hook events an AppSpec may name, in the order CodeDeploy
// runs them. Install and AllowTestTraffic/AllowTraffic are CodeDeploy's own
// steps and take no hook.
const (
	HookBeforeInstall         = "BeforeInstall"
	HookAfterInstall          = "AfterInstall"
	HookAfterAllowTestTraffic = "AfterAllowTestTraffic"
	HookBeforeAllowTraffic    = "BeforeAllowTraffic"
	HookAfterAllowTraffic     = "AfterAllowTraffic"
)

// HookEvents lists the five ECS hook events in lifecycle order.
func HookEvents() []string {
	return []string{HookBeforeInstall, HookAfterInstall, HookAfterAllowTestTraffic, HookBeforeAllowTraffic, HookAfterAllowTraffic}
}

// AppSpec is an ECS AppSpec file: which task definition to deploy, which
// container and port the load balancer sends traffic to, and which function
// runs at each hook event.
type AppSpec struct {
	// TaskDefinition is the task definition ARN or family:revision to
	// deploy, or a placeholder such as <TASK_DEFINITION> a pipeline fills in.
	TaskDefinition string
	// ContainerName and ContainerPort name the container that receives
	// traffic from the listeners.
	ContainerName string
	ContainerPort int
	// PlatformVersion is kept for AWS; it means nothing locally.
	PlatformVersion string
	// Hooks maps a hook event (HookBeforeInstall…) to the name of the
	// function that runs at it: a Lambda on AWS, a configured command or
	// URL locally.
	Hooks map[string]string
}

// rawAppSpec mirrors the document so strict decoding rejects unknown keys.
type rawAppSpec struct {
	Version   any                      `yaml:"version"`
	Resources []map[string]rawResource `yaml:"Resources"`
	Hooks     []map[string]string      `yaml:"Hooks"`
}

type rawResource struct {
	Type       string        `yaml:"Type"`
	Properties rawProperties `yaml:"Properties"`
}

type rawProperties struct {
	TaskDefinition   string `yaml:"TaskDefinition"`
	LoadBalancerInfo struct {
		ContainerName string `yaml:"ContainerName"`
		ContainerPort int    `yaml:"ContainerPort"`
	} `yaml:"LoadBalancerInfo"`
	PlatformVersion          string `yaml:"PlatformVersion"`
	NetworkConfiguration     any    `yaml:"NetworkConfiguration"`
	CapacityProviderStrategy any    `yaml:"CapacityProviderStrategy"`
}

// ReadAppSpec reads and parses the AppSpec file at path.
func ReadAppSpec(path string) (*AppSpec, error) {
	data, err := userfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("read appspec: %w", err)
	}
	return ParseAppSpec(path, data)
}

var simpleKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ParseAppSpec parses an ECS AppSpec document (YAML or JSON). name is used
// in error messages only.
func ParseAppSpec(name string, data []byte) (*AppSpec, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{Path: name, Msg: "empty AppSpec: want version, Resources and (optionally) Hooks"}
	}
	var raw rawAppSpec
	if err := decodeYAML(name, data, &raw); err != nil {
		return nil, err
	}
	fe := func(field, format string, a ...any) error {
		return &Error{Path: name, Line: lineOf(data, field), Field: field, Msg: fmt.Sprintf(format, a...)}
	}
	var errs []error
	if v := fmt.Sprint(raw.Version); v != "0" && v != "0.0" {
		if raw.Version == nil {
			errs = append(errs, &Error{Path: name, Field: "version", Msg: "missing; ECS AppSpec files use version: 0.0"})
		} else {
			errs = append(errs, fe("version", "is %v; ECS AppSpec files use version: 0.0", raw.Version))
		}
	}
	spec := &AppSpec{Hooks: map[string]string{}}
	switch len(raw.Resources) {
	case 0:
		errs = append(errs, &Error{Path: name, Line: lineOf(data, "Resources"), Field: "Resources", Msg: "want exactly one resource of Type AWS::ECS::Service"})
	case 1:
		if len(raw.Resources[0]) != 1 {
			errs = append(errs, fe("Resources[0]", "want one named resource (such as TargetService), got %d keys", len(raw.Resources[0])))
			break
		}
		for key, res := range raw.Resources[0] {
			base := "Resources[0]." + key
			if !simpleKey.MatchString(key) {
				base = "Resources[0]"
			}
			if res.Type != "AWS::ECS::Service" {
				errs = append(errs, fe(base+".Type", "is %q; want AWS::ECS::Service", res.Type))
			}
			p := res.Properties
			if p.TaskDefinition == "" {
				errs = append(errs, fe(base+".Properties", "TaskDefinition is missing"))
			}
			if p.LoadBalancerInfo.ContainerName == "" {
				errs = append(errs, fe(base+".Properties", "LoadBalancerInfo.ContainerName is missing"))
			}
			if port := p.LoadBalancerInfo.ContainerPort; port < 1 || port > 65535 {
				errs = append(errs, fe(base+".Properties.LoadBalancerInfo", "ContainerPort %d is not a port (1-65535)", port))
			}
			spec.TaskDefinition = p.TaskDefinition
			spec.ContainerName = p.LoadBalancerInfo.ContainerName
			spec.ContainerPort = p.LoadBalancerInfo.ContainerPort
			spec.PlatformVersion = p.PlatformVersion
		}
	default:
		errs = append(errs, fe("Resources[1]", "ECS AppSpec files have exactly one resource, got %d", len(raw.Resources)))
	}
	known := map[string]bool{}
	for _, e := range HookEvents() {
		known[e] = true
	}
	for i, h := range raw.Hooks {
		field := fmt.Sprintf("Hooks[%d]", i)
		if len(h) != 1 {
			errs = append(errs, fe(field, "want one `Event: FunctionName` pair per list item, got %d", len(h)))
			continue
		}
		for event, fn := range h {
			switch {
			case !known[event]:
				errs = append(errs, fe(field, "unknown ECS hook %q; want one of %v", event, HookEvents()))
			case fn == "":
				errs = append(errs, fe(field, "%s names no function", event))
			case spec.Hooks[event] != "":
				errs = append(errs, fe(field, "%s is given twice", event))
			default:
				spec.Hooks[event] = fn
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return spec, nil
}

// HookFunctions returns the distinct function names the AppSpec refers to,
// sorted.
func (s *AppSpec) HookFunctions() []string {
	seen := map[string]bool{}
	var out []string
	for _, fn := range s.Hooks {
		if !seen[fn] {
			seen[fn] = true
			out = append(out, fn)
		}
	}
	sort.Strings(out)
	return out
}

// decodeYAML decodes strictly. go-yaml v1.19.2 panics on a few malformed
// documents (found by FuzzParseAppSpec, e.g. "Hooks:  ! "); such a panic
// is a malformed file, not a crash of the caller.
func decodeYAML(name string, data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Path: name, Msg: fmt.Sprintf("malformed YAML (the parser gave up: %v)", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.Strict(), yaml.DisallowUnknownField())
	if err := dec.Decode(v); err != nil {
		return yamlError(name, err)
	}
	return nil
}

// yamlError turns a go-yaml error into an *Error with a line number.
func yamlError(name string, err error) error {
	var se yaml.Error
	if errors.As(err, &se) {
		line := 0
		if tk := se.GetToken(); tk != nil && tk.Position != nil {
			line = tk.Position.Line
		}
		return &Error{Path: name, Line: line, Msg: se.GetMessage()}
	}
	return &Error{Path: name, Msg: err.Error()}
}
