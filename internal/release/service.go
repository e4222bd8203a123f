package release

import (
	"fmt"
	"maps"
	"strings"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/deploy"
)

// Service is what deployments of one service are made from:
// canaryflow.yaml's service section as plain values, defaults applied.
type Service struct {
	// Name identifies the service. Required.
	Name string
	// ContainerName and ContainerPort are the container that takes
	// traffic, as an appspec's LoadBalancerInfo names it.
	ContainerName string
	ContainerPort int
	// Env is added to every task's environment. Zero: none.
	Env map[string]string
	// AllowedRegistries are the registries (host[:port]) whose images are
	// deployed besides the embedded one. Zero: none.
	AllowedRegistries []string
	// Settings are the deployment settings without an appspec. Their
	// Hooks are keyed by event name and Source is left zero.
	Settings deploy.Settings
	// Hooks are every hook of service.hooks by its key: an event name or
	// an appspec function name. Zero: none.
	Hooks map[string]deploy.Hook
}

// AllowsRegistry reports whether images from host may be deployed: host
// is one of AllowedRegistries, compared but for the case of letters.
func (s Service) AllowsRegistry(host string) bool {
	for _, h := range s.AllowedRegistries {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// DeploymentSettings are a deployment's settings, with an appspec when it
// came with one: an appspec hook names a function, and the service's
// hooks say what that function is locally. Without an appspec the hooks
// keyed by event name apply.
func (s Service) DeploymentSettings(spec *awsfmt.AppSpec) (deploy.Settings, error) {
	out := s.Settings
	out.AutoRollback = append([]string(nil), s.Settings.AutoRollback...)
	out.Hooks = map[string]deploy.Hook{}
	for _, event := range awsfmt.HookEvents() {
		if spec != nil {
			if fn, ok := spec.Hooks[event]; ok {
				h, ok := s.Hooks[fn]
				if !ok {
					return out, fmt.Errorf("appspec hook %s names function %q, which canaryflow.yaml's service.hooks does not define", event, fn)
				}
				out.Hooks[event] = h
				continue
			}
		}
		if h, ok := s.Hooks[event]; ok {
			out.Hooks[event] = h
		}
	}
	return out, nil
}

// checkAppSpec refuses an appspec whose LoadBalancerInfo names another
// container than the service's.
func (s Service) checkAppSpec(name string, spec *awsfmt.AppSpec) error {
	if spec.ContainerName != s.ContainerName || spec.ContainerPort != s.ContainerPort {
		return fmt.Errorf("%s: LoadBalancerInfo is %s:%d but canaryflow.yaml's service.container is %s:%d",
			name, spec.ContainerName, spec.ContainerPort, s.ContainerName, s.ContainerPort)
	}
	return nil
}

// Revision is the revision a deployment of image runs: the service's
// container port and env, overlaid by a task definition's container when
// one is given (its image, environment, first port mapping, command and
// size).
func (s Service) Revision(image string, td *awsfmt.TaskDef) (deploy.Revision, error) {
	rev := deploy.Revision{Service: s.Name, Image: image, Port: s.ContainerPort, Env: maps.Clone(s.Env)}
	if rev.Env == nil {
		rev.Env = map[string]string{}
	}
	if td != nil {
		c := td.Container(s.ContainerName)
		if c == nil {
			return rev, fmt.Errorf("task definition %s has no container %q (service.container.name)", td.Family, s.ContainerName)
		}
		if c.Image != awsfmt.ImagePlaceholder && c.Image != "" && image == "" {
			rev.Image = c.Image
		}
		maps.Copy(rev.Env, c.Environment)
		if len(c.PortMappings) > 0 {
			rev.Port = c.PortMappings[0].ContainerPort
		}
		rev.Command = append(c.EntryPoint[:len(c.EntryPoint):len(c.EntryPoint)], c.Command...)
		rev.CPU, rev.Memory = td.CPU, td.Memory
	}
	if rev.Image == "" || rev.Image == awsfmt.ImagePlaceholder {
		return rev, fmt.Errorf("no image: give --image, or an image in the task definition")
	}
	return rev, nil
}
