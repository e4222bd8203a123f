package events

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/pipeline"
)

// DeploymentData is the body of a deployment event.
type DeploymentData struct {
	Deployment deploy.Deployment `json:"deployment"`
	// PreviousStatus is the status before this change; "" for a new
	// deployment.
	PreviousStatus string `json:"previousStatus"`
}

// TrafficData is the body of a traffic event: the production split of a
// deployment moved.
type TrafficData struct {
	DeploymentID string `json:"deploymentId"`
	Service      string `json:"service"`
	GreenPercent int    `json:"greenPercent"`
	From         int    `json:"from"`
}

// AlarmData is the body of an alarm event.
type AlarmData struct {
	DeploymentID string             `json:"deploymentId"`
	Service      string             `json:"service"`
	Alarm        deploy.AlarmStatus `json:"alarm"`
	From         string             `json:"from"`
}

// PipelineData is the body of a pipeline event.
type PipelineData struct {
	Execution      pipeline.Execution `json:"execution"`
	PreviousStatus string             `json:"previousStatus"`
}

// Source is what Feed reads. Deployments and DeploymentsChanged are
// required; the Executions pair is nil without a pipeline.
type Source struct {
	// Deployments lists every deployment; DeploymentsChanged returns a
	// channel closed at the next write of one (store.Changed).
	Deployments        func() ([]deploy.Deployment, error)
	DeploymentsChanged func() <-chan struct{}
	// Executions lists the pipeline's executions; ExecutionsChanged
	// returns a channel closed at the next write of one.
	Executions        func() ([]pipeline.Execution, error)
	ExecutionsChanged func() <-chan struct{}
	Logger            *slog.Logger
}

// Feed publishes to bus what changed in src at each of its writes, until
// ctx ends. What exists when it starts is its baseline, not news.
func Feed(ctx context.Context, bus *Bus, src Source) {
	f := feeder{bus: bus, src: src, deps: map[string]deploy.Deployment{}, depJSON: map[string][]byte{},
		execs: map[string]pipeline.Execution{}, execJSON: map[string][]byte{}}
	first := true
	for {
		// Taken before the read: a write after it closes them.
		deps := src.DeploymentsChanged()
		var execs <-chan struct{}
		if src.ExecutionsChanged != nil {
			execs = src.ExecutionsChanged()
		}
		f.look(first)
		first = false
		select {
		case <-ctx.Done():
			return
		case <-deps:
		case <-execs:
		}
	}
}

type feeder struct {
	bus      *Bus
	src      Source
	deps     map[string]deploy.Deployment
	depJSON  map[string][]byte
	execs    map[string]pipeline.Execution
	execJSON map[string][]byte
}

func (f *feeder) look(baseline bool) {
	if ds, err := f.src.Deployments(); err != nil {
		f.warn("list deployments", err)
	} else {
		for _, d := range ds {
			f.deployment(d, baseline)
		}
	}
	if f.src.Executions == nil {
		return
	}
	if es, err := f.src.Executions(); err != nil {
		f.warn("list executions", err)
	} else {
		kept := make(map[string]bool, len(es))
		for _, e := range es {
			kept[e.ID] = true
			f.execution(e, baseline)
		}
		for id := range f.execs { // pruned by the pipeline: forget them too
			if !kept[id] {
				delete(f.execs, id)
				delete(f.execJSON, id)
			}
		}
	}
}

func (f *feeder) deployment(d deploy.Deployment, baseline bool) {
	data, _ := json.Marshal(d)
	old, seen := f.deps[d.ID]
	if seen && bytes.Equal(data, f.depJSON[d.ID]) {
		return
	}
	f.deps[d.ID], f.depJSON[d.ID] = d, data
	if baseline {
		return
	}
	// Traffic and alarm first: a reader of the deployment event then
	// already has them.
	if d.GreenPercent != old.GreenPercent {
		f.publish(TypeTraffic, TrafficData{DeploymentID: d.ID, Service: d.Service, GreenPercent: d.GreenPercent, From: old.GreenPercent})
	}
	if d.Alarm.State != old.Alarm.State || d.Alarm.Reason != old.Alarm.Reason {
		f.publish(TypeAlarm, AlarmData{DeploymentID: d.ID, Service: d.Service, Alarm: d.Alarm, From: old.Alarm.State})
	}
	f.publish(TypeDeployment, DeploymentData{Deployment: d, PreviousStatus: old.Status})
}

func (f *feeder) execution(e pipeline.Execution, baseline bool) {
	data, _ := json.Marshal(e)
	old, seen := f.execs[e.ID]
	if seen && bytes.Equal(data, f.execJSON[e.ID]) {
		return
	}
	f.execs[e.ID], f.execJSON[e.ID] = e, data
	if !baseline {
		f.publish(TypePipeline, PipelineData{Execution: e, PreviousStatus: string(old.Status)})
	}
}

func (f *feeder) publish(typ string, v any) {
	if _, err := f.bus.Publish(typ, v); err != nil {
		f.warn("publish", err)
	}
}

func (f *feeder) warn(what string, err error) {
	if f.src.Logger != nil {
		f.src.Logger.Warn(what, "err", err)
	}
}
