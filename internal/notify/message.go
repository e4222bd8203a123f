// Package notify tells a team's other systems what canaryflow does: it
// turns the daemon's events into notifications (pipeline started,
// succeeded or failed; deployment started, waiting for approval,
// succeeded, rolled back, alarm) and posts them to each target that asked
// for them, as Slack's incoming-webhook JSON or as CloudEvents-style JSON
// signed with HMAC-SHA256.
//
// Delivery is at least once: a notification is written to the store
// before it is sent and removed only when the receiver answers 2xx, with
// retries and backoff, so a restart resumes what was in flight. The
// notifier reads the event bus on its own goroutine; the bus never waits
// for a reader, so a slow or failing receiver never slows a deployment.
package notify

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/events"
	"github.com/canaryflow/canaryflow/internal/pipeline"
)

// Notification kinds, as canaryflow.yaml's notifications.events names them.
const (
	PipelineStarted      = "pipeline.started"
	PipelineSucceeded    = "pipeline.succeeded"
	PipelineFailed       = "pipeline.failed"
	DeploymentStarted    = "deployment.started"
	DeploymentReadyWait  = "deployment.ready_wait"
	DeploymentSucceeded  = "deployment.succeeded"
	DeploymentRolledBack = "deployment.rolled_back"
	DeploymentAlarm      = "deployment.alarm"
)

// Message is one thing to tell: its kind, what it is about (a deployment
// or execution ID), a line for people, and the object as JSON.
type Message struct {
	ID      string          `json:"id"` // the event's ID and kind: stable over retries
	Kind    string          `json:"kind"`
	Subject string          `json:"subject"`
	Service string          `json:"service,omitempty"`
	Text    string          `json:"text"`
	Time    time.Time       `json:"time"`
	Data    json.RawMessage `json:"data"`
}

// Classify returns the notifications an event of the bus makes: none for
// most, one for a change of status that a team is told about.
func Classify(ev events.Event) []Message {
	msg := func(kind, subject, service, text string, data any) []Message {
		raw, _ := json.Marshal(data)
		return []Message{{ID: ev.ID + "/" + kind, Kind: kind, Subject: subject, Service: service, Text: text, Time: ev.Time, Data: raw}}
	}
	switch ev.Type {
	case events.TypePipeline:
		var p events.PipelineData
		if json.Unmarshal(ev.Data, &p) != nil || p.Execution.Status == pipeline.Status(p.PreviousStatus) {
			return nil
		}
		e := p.Execution
		switch {
		case p.PreviousStatus == "" && e.Status == pipeline.InProgress:
			return msg(PipelineStarted, e.ID, "", fmt.Sprintf("Pipeline %s of %s started (%s)", e.ID, e.Tag, e.Trigger), e)
		case e.Status == pipeline.Succeeded:
			return msg(PipelineSucceeded, e.ID, "", fmt.Sprintf("Pipeline %s of %s succeeded", e.ID, e.Tag), e)
		case e.Status == pipeline.Failed:
			return msg(PipelineFailed, e.ID, "", fmt.Sprintf("Pipeline %s of %s failed: %s", e.ID, e.Tag, e.Error), e)
		}
	case events.TypeDeployment:
		var dd events.DeploymentData
		if json.Unmarshal(ev.Data, &dd) != nil {
			return nil
		}
		d := dd.Deployment
		was := deploy.Deployment{Status: dd.PreviousStatus}
		switch {
		case dd.PreviousStatus == "" && d.Status != deploy.StatusQueued,
			dd.PreviousStatus == deploy.StatusQueued && d.Status != deploy.StatusQueued && !d.Done():
			return msg(DeploymentStarted, d.ID, d.Service, fmt.Sprintf("%s: deployment %s of revision %d started", d.Service, d.ID, d.Revision), d)
		case d.Status == deploy.StatusReady && dd.PreviousStatus != deploy.StatusReady:
			return msg(DeploymentReadyWait, d.ID, d.Service, fmt.Sprintf("%s: deployment %s waits for approval until %s (canaryflow deploy approve %s)",
				d.Service, d.ID, d.WaitUntil.Format(time.RFC3339), d.ID), d)
		case d.Done() && !was.Done() && d.Status == deploy.StatusSucceeded:
			return msg(DeploymentSucceeded, d.ID, d.Service, fmt.Sprintf("%s: deployment %s of revision %d succeeded", d.Service, d.ID, d.Revision), d)
		case d.Done() && !was.Done() && d.RolledBack:
			why := d.Status
			if d.Error != nil {
				why = d.Error.Code + ": " + d.Error.Message
			}
			return msg(DeploymentRolledBack, d.ID, d.Service, fmt.Sprintf("%s: deployment %s rolled back to revision %d (%s)", d.Service, d.ID, d.PreviousRevision, why), d)
		}
	case events.TypeAlarm:
		var a events.AlarmData
		if json.Unmarshal(ev.Data, &a) != nil || a.Alarm.State != deploy.AlarmActive || a.From == deploy.AlarmActive {
			return nil
		}
		return msg(DeploymentAlarm, a.DeploymentID, a.Service, fmt.Sprintf("%s: alarm on deployment %s: %s", a.Service, a.DeploymentID, a.Alarm.Reason), a)
	}
	return nil
}
