package cli

import (
	"fmt"
	"strings"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/server"
	"github.com/canaryflow/canaryflow/internal/watchview"
)

// localView turns the daemon's answer into the view every backend shares.
func localView(v *server.DeploymentView) *watchview.Deployment {
	d := &v.Deployment
	out := &watchview.Deployment{
		ID: d.ID, Service: d.Service, Status: d.Status, Step: d.Step,
		Revision: d.Revision, PreviousRevision: d.PreviousRevision, BlueTaskSet: d.BlueTaskSet,
		GreenPercent: d.GreenPercent, Done: d.Done(), Succeeded: d.Status == deploy.StatusSucceeded,
		RolledBack: d.RolledBack,
		Alarm: watchview.Alarm{State: d.Alarm.State, Reason: d.Alarm.Reason, Counted: true,
			Requests: d.Alarm.Requests, Errors: d.Alarm.Errors, NoTraffic: d.Alarm.NoTraffic},
		Raw: v,
	}
	out.Settings = settingsLine(d.Settings)
	if d.Status == deploy.StatusReady && !d.WaitUntil.IsZero() {
		out.Ready = &watchview.ReadyWait{Until: d.WaitUntil,
			Approve: "canaryflow deploy approve " + d.ID, Stop: "canaryflow deploy stop " + d.ID}
	}
	if st := d.StepTraffic; st != nil && st.Waiting && !d.Done() {
		out.TrafficWait = &watchview.TrafficWait{Requests: st.Requests, Want: st.Want, Stop: "canaryflow deploy stop " + d.ID}
	}
	if d.Error != nil {
		out.Error = &watchview.Error{Code: d.Error.Code, Message: d.Error.Message}
	}
	if t := v.Traffic; t != nil {
		g := func(x server.GroupView) watchview.Group {
			return watchview.Group{TaskSet: x.TaskSet, Counted: true, Requests: x.Requests, Errors: x.Errors, Healthy: x.Healthy}
		}
		out.Traffic = &watchview.Traffic{GreenPercent: t.GreenPercent, Blue: g(t.Blue), Green: g(t.Green)}
	}
	for _, ev := range v.Events {
		detail := ev.Diagnostics
		if ev.Hook != "" {
			detail = strings.TrimSpace("hook " + ev.Hook + " " + detail)
		}
		out.Events = append(out.Events, watchview.Event{Name: ev.Name, Status: ev.Status, Start: ev.Start, End: ev.End, Detail: detail})
	}
	return out
}

// settingsLine says where a deployment's settings came from and the
// ones a person checks first: "canaryflow.yaml at v1.2.0 (abc1234):
// TimeBasedCanary{percent: 10, interval: 5m0s}, ready STOP_DEPLOYMENT
// (wait 1h0m0s), termination wait 5m0s, hooks AfterAllowTestTraffic".
func settingsLine(s deploy.Settings) string {
	from := "(source not recorded)"
	if s.Source != nil {
		from = s.Source.String()
	}
	parts := []string{s.Strategy.String()}
	if s.ReadyAction == "STOP_DEPLOYMENT" {
		parts = append(parts, fmt.Sprintf("ready STOP_DEPLOYMENT (wait %s)", s.ReadyWait))
	} else {
		parts = append(parts, "ready CONTINUE_DEPLOYMENT")
	}
	parts = append(parts, "termination wait "+s.TerminationWait.String())
	if s.Alarms.Disabled {
		parts = append(parts, "alarms disabled")
	}
	var hooks []string
	for _, ev := range deploy.LifecycleEventNames() {
		if _, ok := s.Hooks[ev]; ok {
			hooks = append(hooks, ev)
		}
	}
	if len(hooks) > 0 {
		parts = append(parts, "hooks "+strings.Join(hooks, ", "))
	}
	return from + ": " + strings.Join(parts, ", ")
}

// trafficBar draws the production split, blue '█' and green '░'.
func trafficBar(greenPercent float64, width int) string {
	return watchview.TrafficBar(greenPercent, width)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
