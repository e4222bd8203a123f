package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/router"
)

const fullService = `service:
  name: hello
  container: {name: web, port: 3000}
  desired_count: 2
  env: {GREETING: hi}
  health_check:
    path: /healthz
    interval: 2s
    timeout: 1s
    healthy_threshold: 3
    unhealthy_threshold: 2
    success_codes: "200-299"
  listeners: {production_port: 9080, test_port: 9081}
  deployment_config: {type: TimeBasedLinear, percent: 25, interval: 30}
  ready: {action: STOP_DEPLOYMENT, wait: 10m}
  termination_wait: 90s
  alarms:
    period: 250ms
    evaluation_periods: 4
    datapoints_to_alarm: 1
    error_rate_percent: 2.5
    p99_latency: 800ms
    min_requests: 5
    treat_missing_data: breaching
    promote_without_traffic: true
  auto_rollback: {events: [DEPLOYMENT_FAILURE]}
  hooks:
    BeforeInstall: {command: [./check, --strict], timeout: 10s}
    SmokeTest: {url: "http://127.0.0.1:9999/hook"}
  runtime: docker
  keep_images: 5
`

func TestServiceSection(t *testing.T) {
	c, err := Parse("c.yaml", []byte(fullService))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Service
	if s.Name != "hello" || s.Container != (Container{"web", 3000}) || s.DesiredCount != 2 || s.Env["GREETING"] != "hi" {
		t.Errorf("service = %+v", s)
	}
	if s.HealthCheck.Interval.D() != 2*time.Second || s.HealthCheck.HealthyThreshold != 3 || s.Listeners.TestPort != 9081 {
		t.Errorf("health/listeners = %+v %+v", s.HealthCheck, s.Listeners)
	}
	want := awsfmt.TrafficRouting{Type: awsfmt.TimeBasedLinear, Percent: 25, Interval: 30 * time.Second}
	if s.DeploymentConfig.Routing != want {
		t.Errorf("routing = %v, want %v", s.DeploymentConfig.Routing, want)
	}
	if s.Ready.Action != StopDeployment || s.Ready.Wait.D() != 10*time.Minute || s.TerminationWait.D() != 90*time.Second {
		t.Errorf("ready/termination = %+v %v", s.Ready, s.TerminationWait.D())
	}
	if a := s.Alarms; a.Period.D() != 250*time.Millisecond || a.DatapointsToAlarm != 1 || a.ErrorRatePercent != 2.5 ||
		a.P99Latency.D() != 800*time.Millisecond || a.TreatMissingData != "breaching" || a.UnhealthyTargets != 1 ||
		!a.PromoteWithoutTraffic {
		t.Errorf("alarms = %+v", a)
	}
	if len(s.AutoRollback.Events) != 1 || s.Hooks["BeforeInstall"].Command[1] != "--strict" ||
		s.Hooks["SmokeTest"].Timeout.D() != time.Minute || s.Runtime != "docker" || s.KeepImages != 5 {
		t.Errorf("rollback/hooks/runtime = %+v %+v %s", s.AutoRollback, s.Hooks, s.Runtime)
	}
}

func TestServiceDefaults(t *testing.T) {
	c, err := Parse("c.yaml", []byte("service:\n  name: hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Service
	if s.Container != (Container{"hello", 3000}) || s.DesiredCount != 1 || s.HealthCheck.Path != "/healthz" ||
		s.Listeners != (Listeners{8080, 8081}) || s.DeploymentConfig.Name != awsfmt.DefaultDeploymentConfig ||
		s.DeploymentConfig.Routing.Percent != 10 || s.Ready.Action != ContinueDeployment ||
		s.TerminationWait.D() != 5*time.Minute || s.Alarms.MinRequests != 10 || s.Alarms.TreatMissingData != "missing" ||
		s.Alarms.PromoteWithoutTraffic || len(s.AutoRollback.Events) != 3 || s.Runtime != "auto" || s.KeepImages != DefaultKeepImages {
		t.Errorf("defaults = %+v", s)
	}
	c, err = Parse("c.yaml", []byte("service:\n  name: hello\n  deployment_config: CodeDeployDefault.ECSAllAtOnce\n"))
	if err != nil || c.Service.DeploymentConfig.Routing.Type != awsfmt.AllAtOnce {
		t.Errorf("predefined name: %v %+v", err, c.Service)
	}
	if c, _ := Parse("c.yaml", []byte("release: {}\n")); c.Service != nil {
		t.Error("no service section should leave Service nil")
	}
}

func TestServiceErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"no name", "service:\n  desired_count: 1\n", "c.yaml:2: service.name: \"\" must be"},
		{"bad name", "service:\n  name: Hello_World\n", "c.yaml:2: service.name"},
		{"unknown key", "service:\n  name: a\n  replicas: 2\n", "c.yaml:3"},
		{"bad port", "service:\n  name: a\n  container: {port: 70000}\n", "service.container.port: 70000 is not a port"},
		{"same listeners", "service:\n  name: a\n  listeners:\n    production_port: 80\n    test_port: 80\n", "c.yaml:5: service.listeners.test_port: must differ"},
		{"bad count", "service:\n  name: a\n  desired_count: -1\n", "c.yaml:3: service.desired_count"},
		{"bad duration", "service:\n  name: a\n  termination_wait: soon\n", "c.yaml:3"},
		{"timeout over interval", "service:\n  name: a\n  health_check: {interval: 1s, timeout: 2s}\n", "service.health_check.timeout"},
		{"bad codes", "service:\n  name: a\n  health_check: {success_codes: ok}\n", "service.health_check.success_codes"},
		{"unknown config", "service:\n  name: a\n  deployment_config: CodeDeployDefault.OneAtATime\n", "c.yaml:3: service.deployment_config: unknown configuration"},
		{"bad custom", "service:\n  name: a\n  deployment_config: {type: TimeBasedCanary, percent: 0, interval: 5}\n", "percent 0"},
		{"custom typo", "service:\n  name: a\n  deployment_config: {type: TimeBasedCanary, pct: 5}\n", "c.yaml:3"},
		{"bad ready", "service:\n  name: a\n  ready: {action: WAIT}\n", "service.ready.action"},
		{"bad rollback event", "service:\n  name: a\n  auto_rollback:\n    events: [ON_ALARM]\n", "c.yaml:4: service.auto_rollback.events[0]"},
		{"hook both", "service:\n  name: a\n  hooks:\n    BeforeInstall: {command: [x], url: 'http://x'}\n", "c.yaml:4: service.hooks.BeforeInstall: give command or url, not both"},
		{"hook none", "service:\n  name: a\n  hooks:\n    BeforeInstall: {timeout: 5s}\n", "give a command"},
		{"hook bad url", "service:\n  name: a\n  hooks:\n    X: {url: 'file:///etc'}\n", "service.hooks.X.url"},
		{"shell string hook", "service:\n  name: a\n  hooks:\n    X: {command: 'rm -rf /'}\n", "c.yaml:4"},
		{"bad runtime", "service:\n  name: a\n  runtime: k8s\n", "c.yaml:3: service.runtime"},
		{"bad keep", "service:\n  name: a\n  keep_images: -2\n", "c.yaml:3: service.keep_images: -2"},
		{"missing data", "service:\n  name: a\n  alarms: {treat_missing_data: ignore}\n", "service.alarms.treat_missing_data"},
		{"datapoints", "service:\n  name: a\n  alarms: {evaluation_periods: 2, datapoints_to_alarm: 3}\n", "service.alarms.datapoints_to_alarm"},
		{"min errors", "service:\n  name: a\n  alarms: {min_errors: -1}\n", "service.alarms.min_errors"},
		{"bad pin header", "service:\n  name: a\n  pin_header: {name: 'X Pin'}\n", "c.yaml:3: service.pin_header.name: \"X Pin\" is not a header name"},
		{"bad pin env", "service:\n  name: a\n  pin_header: {name: X-Pin, secret_env: 'a-b'}\n", "service.pin_header.secret_env"},
		{"pin env alone", "service:\n  name: a\n  pin_header: {secret_env: PIN}\n", "service.pin_header.name: secret_env is set"},
		{"inline pin secret", "service:\n  name: a\n  pin_header: {name: X-Pin, secret: hunter2}\n", "c.yaml:3"},
		{"promote not a bool", "service:\n  name: a\n  alarms: {promote_without_traffic: sometimes}\n", "c.yaml:3"},
		{"tiny period", "service:\n  name: a\n  alarms: {period: 1ms}\n", "service.alarms.period"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatalf("no error for %q", tc.doc)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *config.Error", err)
			}
		})
	}
}

func FuzzParseService(f *testing.F) {
	f.Add([]byte(fullService))
	f.Add([]byte("service:\n  name: a\n  deployment_config: {type: AllAtOnce}\n"))
	f.Add([]byte("service:\n  name: a\n  termination_wait: 5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer func() {
			// go-yaml v1.19.2 panics on some malformed input; that is
			// the decoder's bug, reported, not the service section's.
			_ = recover()
		}()
		c, err := Parse("f.yaml", data)
		if err != nil || c.Service == nil {
			return
		}
		if err := c.Service.DeploymentConfig.Routing.Validate(); err != nil {
			t.Fatalf("accepted an invalid routing: %v", err)
		}
		if c.Service.DesiredCount < 1 || c.Service.Listeners.ProductionPort == c.Service.Listeners.TestPort {
			t.Fatalf("accepted an invalid service: %+v", c.Service)
		}
	})
}

// TestPinHeader checks that pinning is off unless named, and that naming
// the header defaults the secret's variable.
func TestPinHeader(t *testing.T) {
	c, err := Parse("c.yaml", []byte(minimalService))
	if err != nil || c.Service.PinHeader != (PinHeader{}) {
		t.Fatalf("default pin header %+v, %v; want none", c.Service.PinHeader, err)
	}
	c, err = Parse("c.yaml", []byte(minimalService+"  pin_header: {name: X-Canaryflow-Target}\n"))
	if err != nil || c.Service.PinHeader != (PinHeader{Name: "X-Canaryflow-Target", SecretEnv: router.PinSecretEnv}) {
		t.Fatalf("pin header %+v, %v", c.Service.PinHeader, err)
	}
}
