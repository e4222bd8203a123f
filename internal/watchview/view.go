// Package watchview draws one blue/green deployment for people, the same
// way whichever backend runs it: the local daemon or AWS (CodeDeploy or
// ECS). Backends fill a Deployment, a plain description of what a person
// checks — status, step, the production split, each version's task set,
// the alarms and the lifecycle events — and Render, Summary and Watch
// print it. It imports nothing of canaryflow, so both sides can use it.
package watchview

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Deployment is one look at a deployment.
type Deployment struct {
	ID      string `json:"id"`
	Service string `json:"service"`
	// Status is the backend's word for where it is (InProgress,
	// Succeeded, Stopped…); Step the lifecycle event in progress, or the
	// last one done ("-" when none).
	Status string `json:"status"`
	Step   string `json:"step"`
	// Revision is the task definition revision deployed; zero: unknown.
	Revision int `json:"revision,omitempty"`
	// PreviousRevision is the revision a rollback returns to, running in
	// BlueTaskSet; zero: none or unknown.
	PreviousRevision int    `json:"previousRevision,omitempty"`
	BlueTaskSet      string `json:"blueTaskSet,omitempty"`
	// GreenPercent is the production share on the replacement, 0-100.
	GreenPercent int `json:"greenPercent"`
	// Done is true once the deployment ended; Succeeded tells how.
	Done      bool `json:"done"`
	Succeeded bool `json:"succeeded"`
	// RolledBack is true once production traffic went back to blue.
	RolledBack bool   `json:"rolledBack,omitempty"`
	Error      *Error `json:"error,omitempty"`
	Alarm      Alarm  `json:"alarm"`
	// Traffic is the production split and each version; nil: unknown.
	Traffic *Traffic `json:"traffic,omitempty"`
	Events  []Event  `json:"lifecycleEvents"`
	// Ready is the wait for approval in progress; nil: none.
	Ready *ReadyWait `json:"ready,omitempty"`
	// TrafficWait is a traffic step held until green has served enough
	// requests to judge it; nil: none.
	TrafficWait *TrafficWait `json:"trafficWait,omitempty"`
	// Settings says which settings the deployment runs with and where
	// they came from, on one line; "": unknown.
	Settings string `json:"settings,omitempty"`
	// Now is when this look was taken, to say how long a wait has left.
	// Zero: Watch sets it from its clock; Render then shows the deadline
	// alone.
	Now time.Time `json:"-"`
	// Raw, when set, is what Watch prints in JSON mode instead of the
	// Deployment (the backend's own answer, so scripts keep its fields).
	Raw any `json:"-"`
}

// Error is why a deployment failed or stopped.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Alarm is the state of the alarms watching green.
type Alarm struct {
	// State is OK, ALARM or INSUFFICIENT_DATA; empty: not evaluated yet.
	State  string `json:"state,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Counted says Requests and Errors are known (the local router counts
	// them; on AWS they live in CloudWatch); false leaves them out.
	Counted   bool   `json:"counted,omitempty"`
	Requests  uint64 `json:"requests,omitempty"`
	Errors    uint64 `json:"errors,omitempty"`
	NoTraffic bool   `json:"noTraffic,omitempty"`
}

// Traffic is the production listener's split between the two versions.
type Traffic struct {
	GreenPercent float64 `json:"greenPercent"`
	Blue         Group   `json:"blue"`
	Green        Group   `json:"green"`
}

// Group is one version: its task set and what serves it.
type Group struct {
	TaskSet string `json:"taskSet,omitempty"`
	// Counted says Requests and Errors (cumulative) are known; false
	// shows Running/Desired tasks instead.
	Counted  bool   `json:"counted,omitempty"`
	Requests uint64 `json:"requests,omitempty"`
	Errors   uint64 `json:"errors,omitempty"`
	Healthy  int    `json:"healthy"`
	Running  int    `json:"running,omitempty"`
	Desired  int    `json:"desired,omitempty"`
}

// ReadyWait is a deployment holding production traffic back until a
// person approves it; past Until it stops.
type ReadyWait struct {
	Until time.Time `json:"until"`
	// Approve and Stop are the commands that end the wait, as a person
	// types them.
	Approve string `json:"approve"`
	Stop    string `json:"stop"`
}

// TrafficWait is a traffic step whose interval has passed with fewer
// than Want requests to green: it moves on once they arrive.
type TrafficWait struct {
	Requests uint64 `json:"requests"`
	Want     int    `json:"want"`
	Stop     string `json:"stop"` // the command that stops and rolls back
}

// Event is one lifecycle event. Zero Start or End: not started or not
// ended. Detail is shown after it (a hook, diagnostics).
type Event struct {
	Name   string    `json:"name"`
	Status string    `json:"status"`
	Start  time.Time `json:"start,omitzero"`
	End    time.Time `json:"end,omitzero"`
	Detail string    `json:"detail,omitempty"`
}

// Summary is one line saying where a deployment is, as --watch prints it
// on each change when it cannot redraw.
func Summary(d *Deployment) string {
	s := fmt.Sprintf("%s %s step=%s green=%d%%", d.ID, d.Status, d.Step, d.GreenPercent)
	if d.Alarm.State != "" {
		s += " alarm=" + d.Alarm.State
	}
	if d.Error != nil {
		s += " error=" + d.Error.Code
	}
	if r := d.Ready; r != nil {
		s += fmt.Sprintf(" waiting for approval until %s: %s", clockTime(r.Until, time.Time{}), r.Approve)
	}
	if d.TrafficWait != nil {
		s += " waiting for traffic"
	}
	return s
}

// waitLines say what a waiting deployment waits for and how to end it.
func waitLines(w io.Writer, d *Deployment) {
	if r := d.Ready; r != nil {
		left := ""
		if !d.Now.IsZero() {
			left = " (" + timeLeft(r.Until.Sub(d.Now)) + ")"
		}
		fmt.Fprintf(w, "Waiting for approval until %s%s; then it stops.\n", clockTime(r.Until, d.Now), left)
		fmt.Fprintf(w, "  approve: %s\n  stop:    %s\n", r.Approve, r.Stop)
	}
	if t := d.TrafficWait; t != nil {
		fmt.Fprintf(w, "Waiting for traffic: %d of %d requests to green in this step; it moves on once they arrive.\n", t.Requests, t.Want)
		fmt.Fprintf(w, "  stop:    %s\n", t.Stop)
	}
}

// clockTime is t in UTC as a person reads a deadline: the time of day,
// with the date too when it is not the same day as now (zero now: always).
func clockTime(t, now time.Time) string {
	t = t.UTC()
	if now.IsZero() || t.Format(time.DateOnly) == now.UTC().Format(time.DateOnly) {
		return t.Format("15:04:05 UTC")
	}
	return t.Format("2006-01-02 15:04:05 UTC")
}

// timeLeft is a wait's remaining time to the second.
func timeLeft(d time.Duration) string {
	if d <= 0 {
		return "due now"
	}
	return "in " + d.Round(time.Second).String()
}

// TrafficBar draws the production split, blue '█' and green '░'.
func TrafficBar(greenPercent float64, width int) string {
	g := int(greenPercent*float64(width)/100 + 0.5)
	return strings.Repeat("█", width-g) + strings.Repeat("░", g)
}

// Render prints a deployment for people; with the previous look (taken
// dt earlier) it adds each version's request and error rates.
func Render(w io.Writer, d, prev *Deployment, dt time.Duration) {
	fmt.Fprintf(w, "Deployment %s  service %s  revision %d  status %s\n", d.ID, d.Service, d.Revision, d.Status)
	if d.PreviousRevision > 0 {
		fmt.Fprintf(w, "Rollback target: revision %d (task set %s)\n", d.PreviousRevision, d.BlueTaskSet)
	}
	if d.Settings != "" {
		fmt.Fprintf(w, "Settings: %s\n", d.Settings)
	}
	if d.Error != nil {
		fmt.Fprintf(w, "Error: %s: %s\n", d.Error.Code, d.Error.Message)
	}
	if d.RolledBack {
		fmt.Fprintln(w, "Rolled back: all production traffic is on blue")
	}
	waitLines(w, d)
	if t := d.Traffic; t != nil {
		fmt.Fprintf(w, "Traffic  blue %5.1f%% %s %5.1f%% green\n", 100-t.GreenPercent, TrafficBar(t.GreenPercent, 40), t.GreenPercent)
		for _, g := range []struct {
			name string
			cur  Group
		}{{"blue", t.Blue}, {"green", t.Green}} {
			fmt.Fprintln(w, groupLine(g.name, g.cur, prev, dt))
		}
	}
	a := d.Alarm
	switch {
	case a.State == "":
		fmt.Fprintln(w, "Alarms: not evaluated yet")
	case a.NoTraffic || a.State == "INSUFFICIENT_DATA":
		fmt.Fprintf(w, "Alarms: %s — %s\n", a.State, orDefault(a.Reason, "no traffic was seen on green"))
	case a.Counted:
		fmt.Fprintf(w, "Alarms: %s (green: %d requests, %d errors) %s\n", a.State, a.Requests, a.Errors, a.Reason)
	default:
		fmt.Fprintln(w, strings.TrimSpace("Alarms: "+a.State+" "+a.Reason))
	}
	fmt.Fprintln(w, "Lifecycle events:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, ev := range d.Events {
		took := ""
		if !ev.Start.IsZero() && !ev.End.IsZero() {
			took = ev.End.Sub(ev.Start).Round(10 * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", ev.Name, ev.Status, took, ev.Detail)
	}
	tw.Flush()
}

func groupLine(name string, cur Group, prev *Deployment, dt time.Duration) string {
	if !cur.Counted {
		return fmt.Sprintf("  %-5s %-10s %d/%d tasks running, %d healthy", name, cur.TaskSet, cur.Running, cur.Desired, cur.Healthy)
	}
	line := fmt.Sprintf("  %-5s %-10s %d requests, %d errors, %d healthy", name, cur.TaskSet, cur.Requests, cur.Errors, cur.Healthy)
	if prev != nil && prev.Traffic != nil && dt > 0 {
		old := prev.Traffic.Blue
		if name == "green" {
			old = prev.Traffic.Green
		}
		if cur.Requests >= old.Requests {
			rps := float64(cur.Requests-old.Requests) / dt.Seconds()
			eps := float64(cur.Errors-min(old.Errors, cur.Errors)) / dt.Seconds()
			line += fmt.Sprintf("  (%.1f req/s, %.1f err/s)", rps, eps)
		}
	}
	return line
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
