package config

import (
	"strings"
	"testing"
)

// TestReload: a changed listener port needs a restart and is kept as it
// was; a changed ready action and deployment config apply at once; an
// unchanged file changes nothing; neither input is modified.
func TestReload(t *testing.T) {
	parse := func(doc string) *Config {
		t.Helper()
		c, err := Parse("canaryflow.yaml", []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cur := parse("service:\n  name: hello\n  listeners: {production_port: 8080}\n")
	next := parse(`service:
  name: hello
  listeners: {production_port: 8090}
  ready: {action: STOP_DEPLOYMENT}
  deployment_config: CodeDeployDefault.ECSAllAtOnce
  hooks:
    Smoke: {command: [./smoke.sh]}
`)
	got, changes := Reload(cur, next)
	var lines []string
	for _, c := range changes {
		lines = append(lines, c.String()+map[bool]string{true: " (live)", false: " (restart)"}[c.Live])
	}
	want := []string{
		"service.deployment_config changed CodeDeployDefault.ECSCanary10Percent5Minutes → CodeDeployDefault.ECSAllAtOnce (live)",
		"service.hooks.Smoke.command changed (unset) → [./smoke.sh] (live)",
		"service.hooks.Smoke.timeout changed (unset) → 1m0s (live)",
		"service.listeners.production_port changed 8080 → 8090 (restart)",
		"service.ready.action changed CONTINUE_DEPLOYMENT → STOP_DEPLOYMENT (live)",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if got.Service.Listeners.ProductionPort != 8080 || got.Service.Ready.Action != StopDeployment ||
		got.Service.DeploymentConfig.Name != "CodeDeployDefault.ECSAllAtOnce" || len(got.Service.Hooks) != 1 {
		t.Errorf("in force after the reload: %+v", got.Service)
	}
	if cur.Service.Ready.Action != ContinueDeployment || next.Service.Listeners.ProductionPort != 8090 {
		t.Error("Reload modified its inputs")
	}
	if _, changes := Reload(cur, parse("service:\n  name: hello\n  listeners: {production_port: 8080}\n")); len(changes) != 0 {
		t.Errorf("an unchanged file reports %v", changes)
	}
	// A file without its service section changes nothing live.
	got, changes = Reload(cur, parse("release: {tag_prefix: v}\n"))
	if got.Service != cur.Service || len(changes) == 0 {
		t.Errorf("service removed: in force %+v, changes %v", got.Service, changes)
	}
	for _, c := range changes {
		if c.Live {
			t.Errorf("service removed: %s applied live", c)
		}
	}
}
