package server

import (
	"context"
	"fmt"
	"time"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/router"
)

// routerTraffic adapts the router process to deploy.Traffic. It holds no
// state: each task set is a target group of the router, named by its ID,
// and a shift (or making green primary) is one change of the router's
// routing, so the router alone knows where traffic goes.
type routerTraffic struct {
	rt *router.AdminClient
}

func targetURLs(endpoints []string) []string {
	out := make([]string, len(endpoints))
	for i, e := range endpoints {
		out[i] = "http://" + e
	}
	return out
}

// Register makes the task set's target group hold its endpoints.
func (t routerTraffic) Register(ctx context.Context, service, ts string, endpoints []string) error {
	return t.rt.SetGroup(ctx, ts, targetURLs(endpoints))
}

// Deregister drains the task set's target group and removes it.
func (t routerTraffic) Deregister(ctx context.Context, service, ts string) error {
	return t.rt.RemoveGroup(ctx, ts)
}

// SetWeights binds the production listener's sides to the blue and green
// task sets, with the split, and the test listener, in one router change.
func (t routerTraffic) SetWeights(ctx context.Context, w deploy.Weights) error {
	gw := w.GreenPercent * router.WeightScale / 100
	// w.Test "" unbinds the test listener: after the rollback of a first
	// deployment there is nothing left for it to reach.
	req := router.RoutingRequest{Blue: &w.Blue, Green: &w.Green, Test: &w.Test, GreenWeight: &gw}
	if _, err := t.rt.Route(ctx, req); err != nil {
		return fmt.Errorf("set weights %d%% green: %w", w.GreenPercent, err)
	}
	return nil
}

// SetTestTarget binds the test listener to the task set's target group.
func (t routerTraffic) SetTestTarget(ctx context.Context, service, ts string) error {
	_, err := t.rt.Route(ctx, router.RoutingRequest{Test: &ts})
	return err
}

// Metrics reads the task set's target group: its counters started at zero
// with it, so they are this deployment's alone.
func (t routerTraffic) Metrics(ctx context.Context, service, ts string) (deploy.Metrics, error) {
	gs, ok, err := t.rt.Group(ctx, ts)
	if err != nil || !ok {
		return deploy.Metrics{}, err
	}
	m := deploy.Metrics{
		Requests:  gs.Requests,
		Errors:    gs.Responses[3],
		Healthy:   gs.HealthyTargets,
		Unhealthy: gs.UnhealthyTargets,
	}
	var cum uint64
	bounds := router.LatencyBounds()
	for i, c := range gs.Latency.Counts {
		cum += c
		var ub time.Duration
		if i < len(bounds) {
			ub = time.Duration(bounds[i] * float64(time.Second))
		}
		m.Latency = append(m.Latency, deploy.LatencyBucket{UpperBound: ub, Count: cum})
	}
	return m, nil
}
