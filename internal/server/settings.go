package server

import (
	"fmt"
	"maps"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/deploy"
)

// Settings turns the service section (and an appspec, when the
// deployment came with one) into a deployment's settings. An appspec hook
// names a function; the service's hooks map says what that function is
// locally. Without an appspec, hooks keyed by event name apply.
func Settings(svc *config.Service, spec *awsfmt.AppSpec) (deploy.Settings, error) {
	s := deploy.Settings{
		DesiredCount:          svc.DesiredCount,
		Strategy:              svc.DeploymentConfig.Routing,
		ReadyAction:           svc.Ready.Action,
		ReadyWait:             svc.Ready.Wait.D(),
		TerminationWait:       svc.TerminationWait.D(),
		AutoRollback:          append([]string(nil), svc.AutoRollback.Events...),
		PromoteWithoutTraffic: svc.Alarms.PromoteWithoutTraffic,
		Alarms: deploy.AlarmPolicy{
			Disabled:           svc.Alarms.Disabled,
			Period:             svc.Alarms.Period.D(),
			EvaluationPeriods:  svc.Alarms.EvaluationPeriods,
			DatapointsToAlarm:  svc.Alarms.DatapointsToAlarm,
			ErrorRatePercent:   svc.Alarms.ErrorRatePercent,
			P99Latency:         svc.Alarms.P99Latency.D(),
			UnhealthyTargets:   svc.Alarms.UnhealthyTargets,
			MinRequests:        svc.Alarms.MinRequests,
			MinErrors:          svc.Alarms.MinErrors,
			MissingIsBreaching: svc.Alarms.TreatMissingData == "breaching",
		},
		Hooks: map[string]deploy.Hook{},
	}
	if svc.AutoRollback.Disabled {
		s.AutoRollback = nil
	}
	hook := func(name string, h config.Hook) deploy.Hook {
		return deploy.Hook{Name: name, Command: h.Command, URL: h.URL, Timeout: h.Timeout.D()}
	}
	for _, event := range awsfmt.HookEvents() {
		if spec != nil {
			if fn, ok := spec.Hooks[event]; ok {
				h, ok := svc.Hooks[fn]
				if !ok {
					return s, fmt.Errorf("appspec hook %s names function %q, which canaryflow.yaml's service.hooks does not define", event, fn)
				}
				s.Hooks[event] = hook(fn, h)
				continue
			}
		}
		if h, ok := svc.Hooks[event]; ok {
			s.Hooks[event] = hook(event, h)
		}
	}
	return s, nil
}

// NewRevision is the revision a deployment of image runs: the service's
// container port and env, overlaid by a task definition's container when
// one is given (its image, environment and first port mapping).
func NewRevision(svc *config.Service, image string, td *awsfmt.TaskDef) (deploy.Revision, error) {
	rev := deploy.Revision{Service: svc.Name, Image: image, Port: svc.Container.Port, Env: maps.Clone(svc.Env)}
	if rev.Env == nil {
		rev.Env = map[string]string{}
	}
	if td != nil {
		c := td.Container(svc.Container.Name)
		if c == nil {
			return rev, fmt.Errorf("task definition %s has no container %q (service.container.name)", td.Family, svc.Container.Name)
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
