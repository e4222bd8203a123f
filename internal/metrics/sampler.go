package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/router"
)

// Sample is one reading of a deployment's two sides, for the dashboard's
// charts: counters are cumulative (a reader diffs two samples for rates);
// P99Seconds is over the time since the previous sample.
type Sample struct {
	DeploymentID string     `json:"deploymentId"`
	Time         time.Time  `json:"time"`
	GreenPercent int        `json:"greenPercent"`
	Alarm        string     `json:"alarm,omitempty"`
	Status       string     `json:"status"`
	Blue         SideSample `json:"blue"`
	Green        SideSample `json:"green"`
}

// SideSample is one side's reading.
type SideSample struct {
	TaskSet    string  `json:"taskSet,omitempty"`
	Version    string  `json:"version,omitempty"`
	Requests   uint64  `json:"requests"`
	Errors     uint64  `json:"errors"` // 5xx responses
	P99Seconds float64 `json:"p99Seconds"`
}

// Sampler reads the router every Interval while a deployment is in
// progress (and once more when it ends), keeps each deployment's samples
// and hands each to Publish. Router, Deployments and Revision are
// required.
type Sampler struct {
	Router      func(context.Context) (router.Snapshot, error)
	Deployments func() ([]deploy.Deployment, error)
	Revision    func(service string, n int) (*deploy.Revision, error)
	// Publish, when set, is given every sample (the event stream).
	Publish func(Sample)
	// Interval is the time between readings. Zero means 1s.
	Interval time.Duration
	// Keep bounds the samples kept per deployment. Zero means 3600.
	Keep   int
	Logger *slog.Logger

	mu      sync.Mutex
	history map[string][]Sample
	prev    map[string]router.Histogram // task set → latency at the last reading
	active  map[string]bool
}

// Run samples until ctx ends.
func (s *Sampler) Run(ctx context.Context) {
	every := s.Interval
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.sampleOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// History returns the samples kept of deployment id, oldest first.
func (s *Sampler) History(id string) []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample{}, s.history[id]...)
}

func (s *Sampler) sampleOnce(ctx context.Context) {
	ds, err := s.Deployments()
	if err != nil {
		s.warn("list deployments", err)
		return
	}
	s.mu.Lock()
	if s.active == nil {
		s.history, s.prev, s.active = map[string][]Sample{}, map[string]router.Histogram{}, map[string]bool{}
	}
	var due []deploy.Deployment
	for _, d := range ds {
		running := d.Active()
		if running || s.active[d.ID] {
			due = append(due, d)
		}
		if running {
			s.active[d.ID] = true
		} else {
			delete(s.active, d.ID)
		}
	}
	s.mu.Unlock()
	if len(due) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	snap, err := s.Router(rctx)
	if err != nil {
		s.warn("read the router", err)
		return
	}
	now := time.Now().UTC()
	for _, d := range due {
		smp := Sample{DeploymentID: d.ID, Time: now, GreenPercent: d.GreenPercent, Alarm: d.Alarm.State, Status: d.Status,
			Blue: s.side(snap, d.Service, d.BlueTaskSet, d.PreviousRevision), Green: s.side(snap, d.Service, d.GreenTaskSet, d.Revision)}
		keep := s.Keep
		if keep <= 0 {
			keep = 3600
		}
		s.mu.Lock()
		h := append(s.history[d.ID], smp)
		if len(h) > keep {
			h = h[len(h)-keep:]
		}
		s.history[d.ID] = h
		s.mu.Unlock()
		if s.Publish != nil {
			s.Publish(smp)
		}
	}
}

func (s *Sampler) side(snap router.Snapshot, service, taskSet string, rev int) SideSample {
	out := SideSample{TaskSet: taskSet}
	if taskSet == "" {
		return out
	}
	if rev != 0 {
		if r, err := s.Revision(service, rev); err == nil {
			out.Version = r.Version()
		}
	}
	g, ok := snap.Groups[taskSet]
	if !ok {
		return out
	}
	out.Requests, out.Errors = g.Requests, g.Responses[3]
	s.mu.Lock()
	prev := s.prev[taskSet]
	s.prev[taskSet] = g.Latency
	s.mu.Unlock()
	window := g.Latency
	if prev.Count <= g.Latency.Count && len(prev.Counts) == len(g.Latency.Counts) {
		window = g.Latency.Sub(prev)
	}
	out.P99Seconds = window.Quantile(0.99).Seconds()
	return out
}

func (s *Sampler) warn(what string, err error) {
	if s.Logger != nil {
		s.Logger.Warn(what, "err", err)
	}
}
