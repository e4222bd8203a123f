package server

import (
	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/registry"
	"github.com/canaryflow/canaryflow/internal/release"
)

// releaseService turns canaryflow.yaml's service section into the plain
// values package release deploys from.
func releaseService(svc *config.Service) release.Service {
	out := release.Service{
		Name: svc.Name, ContainerName: svc.Container.Name, ContainerPort: svc.Container.Port,
		Env: svc.Env, AllowedRegistries: svc.AllowedRegistries,
		Settings: deploy.Settings{
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
		},
		Hooks: map[string]deploy.Hook{},
	}
	if svc.AutoRollback.Disabled {
		out.Settings.AutoRollback = nil
	}
	for name, h := range svc.Hooks {
		out.Hooks[name] = deploy.Hook{Name: name, Command: h.Command, URL: h.URL, Timeout: h.Timeout.D()}
	}
	return out
}

// parseReleaseService reads the service section of a release's own
// canaryflow.yaml; its errors carry file:line.
func parseReleaseService(name string, data []byte) (release.Service, error) {
	cfg, err := config.Parse(name, data)
	if err != nil {
		return release.Service{}, err
	}
	if cfg.Service == nil {
		return release.Service{}, &config.Error{Path: name, Field: "service", Msg: "missing: a release's deployment settings come from its service section"}
	}
	return releaseService(cfg.Service), nil
}

// newReleaser is the release use case of the daemon's service; reg is
// nil when the daemon serves no registry.
func newReleaser(ctl *deploy.Controller, svc *config.Service, reg *registry.Registry, regHost string) (*release.Releaser, error) {
	o := release.Options{Controller: ctl, Service: releaseService(svc), RegistryHost: regHost, ParseService: parseReleaseService}
	if reg != nil {
		o.Registry = reg // a nil *Registry in the interface would not be nil
	}
	return release.New(o)
}
