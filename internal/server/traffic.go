package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/router"
)

// routerTraffic adapts one service's router to deploy.Traffic. The router
// has two fixed target groups and its test listener always reaches green,
// so a replacement task set always goes into the green group; when it
// becomes primary its targets move to the blue group (registered there,
// healthy, weighted, then removed from green), which frees green for the
// next deployment without a request failing.
type routerTraffic struct {
	rt  *router.Router
	log *slog.Logger
	// healthWait bounds the wait for moved targets to pass a health check.
	healthWait time.Duration
	poll       time.Duration

	mu    sync.Mutex
	sets  map[string]placed // task set ID → where its targets are
	blue  string            // task set ID in the blue group
	green string            // task set ID in the green group
}

type placed struct {
	group router.Group
	urls  []string
}

func newRouterTraffic(rt *router.Router, log *slog.Logger, healthWait time.Duration) *routerTraffic {
	return &routerTraffic{rt: rt, log: log, healthWait: healthWait, poll: 50 * time.Millisecond, sets: map[string]placed{}}
}

func targetURLs(endpoints []string) []string {
	out := make([]string, len(endpoints))
	for i, e := range endpoints {
		out[i] = "http://" + e
	}
	return out
}

// Register puts a task set's targets in the blue group if it is blue,
// else in the green group.
func (t *routerTraffic) Register(ctx context.Context, service, ts string, endpoints []string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := router.Green
	if ts == t.blue {
		g = router.Blue
	} else if t.green != "" && t.green != ts {
		// A leftover replacement: the new one takes its place.
		t.removeLocked(ctx, t.green, false)
	}
	if g == router.Green {
		t.green = ts
	}
	return t.placeLocked(ts, g, targetURLs(endpoints))
}

// placeLocked makes the group hold exactly urls for ts.
func (t *routerTraffic) placeLocked(ts string, g router.Group, urls []string) error {
	old := t.sets[ts]
	keep := map[string]bool{}
	for _, u := range urls {
		keep[u] = true
	}
	if old.group == g {
		for _, u := range old.urls {
			if !keep[u] {
				if _, err := t.rt.Deregister(g, u); err != nil && !errors.Is(err, router.ErrUnknownTarget) {
					return fmt.Errorf("deregister %s: %w", u, err)
				}
			}
		}
	}
	for _, u := range urls {
		if err := t.rt.Register(g, u); err != nil && !errors.Is(err, router.ErrTargetExists) {
			return fmt.Errorf("register %s in %s: %w", u, g, err)
		}
	}
	t.sets[ts] = placed{group: g, urls: urls}
	return nil
}

// removeLocked deregisters a task set's targets; with wait it returns
// once they have drained.
func (t *routerTraffic) removeLocked(ctx context.Context, ts string, wait bool) {
	p, ok := t.sets[ts]
	if !ok {
		return
	}
	var chans []<-chan struct{}
	for _, u := range p.urls {
		ch, err := t.rt.Deregister(p.group, u)
		if err == nil {
			chans = append(chans, ch)
		}
	}
	delete(t.sets, ts)
	if t.green == ts {
		t.green = ""
	}
	if t.blue == ts {
		t.blue = ""
	}
	if !wait {
		return
	}
	t.mu.Unlock()
	defer t.mu.Lock()
	for _, ch := range chans {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// Deregister drains a task set's targets and forgets it.
func (t *routerTraffic) Deregister(ctx context.Context, service, ts string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removeLocked(ctx, ts, true)
	return ctx.Err()
}

// SetWeights sets the split. When w makes the green task set blue (the
// end of a deployment), its targets move to the blue group first.
func (t *routerTraffic) SetWeights(ctx context.Context, w deploy.Weights) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w.Blue != "" && w.Blue != t.blue {
		if p, ok := t.sets[w.Blue]; ok && p.group == router.Green {
			if err := t.promoteLocked(ctx, w.Blue, p.urls); err != nil {
				return err
			}
		} else {
			t.blue = w.Blue // restoring: its targets come with Register
		}
	}
	if w.Green != "" && t.green == "" {
		t.green = w.Green
	}
	if err := t.rt.SetWeights(router.GreenWeights(w.GreenPercent * router.WeightScale / 100)); err != nil {
		return fmt.Errorf("set weights %d%% green: %w", w.GreenPercent, err)
	}
	return nil
}

// promoteLocked moves a task set from the green group to the blue one
// while all production traffic is on it, without dropping a request: the
// blue group gets its targets and, once they are healthy, all the weight;
// only then do the green copies and the old blue targets drain.
func (t *routerTraffic) promoteLocked(ctx context.Context, ts string, urls []string) error {
	oldBlue := t.blue
	for _, u := range urls {
		if err := t.rt.Register(router.Blue, u); err != nil && !errors.Is(err, router.ErrTargetExists) {
			return fmt.Errorf("register %s in blue: %w", u, err)
		}
	}
	deadline := time.Now().Add(t.healthWait)
	for t.rt.Metrics().Blue.HealthyTargets < len(urls)+t.healthyOf(oldBlue) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(t.poll):
		}
	}
	if err := t.rt.SetWeights(router.GreenWeights(0)); err != nil {
		return fmt.Errorf("promote %s: %w", ts, err)
	}
	if oldBlue != "" {
		t.removeLocked(ctx, oldBlue, false)
	}
	for _, u := range urls {
		if _, err := t.rt.Deregister(router.Green, u); err != nil && !errors.Is(err, router.ErrUnknownTarget) {
			return fmt.Errorf("drain %s from green: %w", u, err)
		}
	}
	t.sets[ts] = placed{group: router.Blue, urls: urls}
	t.blue, t.green = ts, ""
	t.log.Info("task set promoted to the blue target group", "taskSet", ts)
	return nil
}

// healthyOf counts the targets of a task set in the blue group that are
// healthy now, so promotion waits only for the newcomers.
func (t *routerTraffic) healthyOf(ts string) int {
	p, ok := t.sets[ts]
	if !ok || p.group != router.Blue {
		return 0
	}
	want := map[string]bool{}
	for _, u := range p.urls {
		want[u] = true
	}
	n := 0
	for _, tg := range t.rt.Snapshot().Blue.Targets {
		if want[tg.URL] && tg.State == router.StateHealthy {
			n++
		}
	}
	return n
}

// SetTestTarget is satisfied by construction: the router's test listener
// always reaches the green group, which holds the replacement. Pointing
// it back at blue (a rollback) leaves the green group empty, so the test
// listener answers 503 until the next deployment.
func (t *routerTraffic) SetTestTarget(ctx context.Context, service, ts string) error {
	return nil
}

// Metrics reads the group a task set's targets are in.
func (t *routerTraffic) Metrics(ctx context.Context, service, ts string) (deploy.Metrics, error) {
	t.mu.Lock()
	p, ok := t.sets[ts]
	t.mu.Unlock()
	if !ok {
		return deploy.Metrics{}, nil
	}
	gm := t.rt.Metrics().Group(p.group)
	m := deploy.Metrics{
		Requests:  gm.Requests,
		Errors:    gm.Responses[3],
		Healthy:   gm.HealthyTargets,
		Unhealthy: gm.UnhealthyTargets,
	}
	var cum uint64
	bounds := router.LatencyBounds()
	for i, c := range gm.Latency.Counts {
		cum += c
		var ub time.Duration
		if i < len(bounds) {
			ub = time.Duration(bounds[i] * float64(time.Second))
		}
		m.Latency = append(m.Latency, deploy.LatencyBucket{UpperBound: ub, Count: cum})
	}
	return m, nil
}
