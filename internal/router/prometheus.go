package router

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// collector exposes the router's counters to Prometheus at scrape time, so
// the request path only does atomic adds.
type collector struct {
	rt *Router

	groupRequests, groupResponses, groupUpstreamErrors, groupCancelled, groupLatency *prometheus.Desc
	targetRequests, targetResponses, targetUpstreamErrors, targetLatency             *prometheus.Desc
	weight, targets, redirected, unavailable                                         *prometheus.Desc
}

// Collector returns a prometheus.Collector for the router's metrics, for a
// daemon that serves one registry for all its parts.
func (rt *Router) Collector() prometheus.Collector {
	ns := func(n string) string { return "canaryflow_router_" + n }
	return &collector{
		rt:                   rt,
		groupRequests:        prometheus.NewDesc(ns("group_requests_total"), "Requests forwarded to the target group.", []string{"group"}, nil),
		groupResponses:       prometheus.NewDesc(ns("group_responses_total"), "Responses sent for the target group, by status class.", []string{"group", "class"}, nil),
		groupUpstreamErrors:  prometheus.NewDesc(ns("group_upstream_errors_total"), "Failures to connect to or read from the group's targets.", []string{"group"}, nil),
		groupCancelled:       prometheus.NewDesc(ns("group_client_cancelled_total"), "Requests the client gave up on (logged as 499).", []string{"group"}, nil),
		groupLatency:         prometheus.NewDesc(ns("group_request_duration_seconds"), "Time from request to the end of the response.", []string{"group"}, nil),
		targetRequests:       prometheus.NewDesc(ns("target_requests_total"), "Requests forwarded to the target.", []string{"group", "target"}, nil),
		targetResponses:      prometheus.NewDesc(ns("target_responses_total"), "Responses sent for the target, by status class.", []string{"group", "target", "class"}, nil),
		targetUpstreamErrors: prometheus.NewDesc(ns("target_upstream_errors_total"), "Failures to connect to or read from the target.", []string{"group", "target"}, nil),
		targetLatency:        prometheus.NewDesc(ns("target_request_duration_seconds"), "Time from request to the end of the response.", []string{"group", "target"}, nil),
		weight:               prometheus.NewDesc(ns("weight_permille"), "Configured share of production traffic, per mille.", []string{"group"}, nil),
		targets:              prometheus.NewDesc(ns("targets"), "Registered targets by state.", []string{"group", "state"}, nil),
		redirected:           prometheus.NewDesc(ns("redirected_total"), "Requests the weights gave the group that went to the other group because it had no healthy target.", []string{"group"}, nil),
		unavailable:          prometheus.NewDesc(ns("unavailable_total"), "Requests answered 503 for want of a healthy target.", nil, nil),
	}
}

// Describe sends every metric descriptor.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.groupRequests, c.groupResponses, c.groupUpstreamErrors, c.groupCancelled,
		c.groupLatency, c.targetRequests, c.targetResponses, c.targetUpstreamErrors, c.targetLatency,
		c.weight, c.targets, c.redirected, c.unavailable} {
		ch <- d
	}
}

var classes = [4]string{"2xx", "3xx", "4xx", "5xx"}

// Collect reads the live counters.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	w := c.rt.Weights()
	for _, g := range []Group{Blue, Green} {
		gn := g.String()
		grp := c.rt.bound.Load().side[g]
		gc := grp.stats.read()
		counter(c.groupRequests, gc.Requests, gn)
		for i, n := range gc.Responses {
			counter(c.groupResponses, n, gn, classes[i])
		}
		counter(c.groupUpstreamErrors, gc.UpstreamErrors, gn)
		counter(c.groupCancelled, gc.ClientCancelled, gn)
		ch <- constHistogram(c.groupLatency, gc.Latency, gn)
		counter(c.redirected, grp.redirected.Load(), gn)
		weight := w.Blue
		if g == Green {
			weight = w.Green
		}
		ch <- prometheus.MustNewConstMetric(c.weight, prometheus.GaugeValue, float64(weight), gn)
		states := map[TargetState]int{StateInitial: 0, StateHealthy: 0, StateUnhealthy: 0, StateDraining: 0}
		for _, t := range grp.targets() {
			states[t.publicState()]++
			tc := t.stats.read()
			counter(c.targetRequests, tc.Requests, gn, t.key)
			for i, n := range tc.Responses {
				counter(c.targetResponses, n, gn, t.key, classes[i])
			}
			counter(c.targetUpstreamErrors, tc.UpstreamErrors, gn, t.key)
			ch <- constHistogram(c.targetLatency, tc.Latency, gn, t.key)
		}
		for st, n := range states {
			ch <- prometheus.MustNewConstMetric(c.targets, prometheus.GaugeValue, float64(n), gn, st.String())
		}
	}
	counter(c.unavailable, c.rt.unavailableCount.Load())
}

func constHistogram(d *prometheus.Desc, h Histogram, labels ...string) prometheus.Metric {
	bounds := latencyBounds()
	buckets := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, b := range bounds {
		cum += h.Counts[i]
		buckets[b] = cum
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum.Seconds(), buckets, labels...)
}

// MetricsHandler serves the router's metrics in Prometheus text format from a
// registry of its own.
func (rt *Router) MetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(rt.Collector())
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Timeout: 10 * time.Second})
}
