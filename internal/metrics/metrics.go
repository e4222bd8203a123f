// Package metrics is the daemon's GET /metrics: what a team's Prometheus
// scrapes to see its releases. Every value is read at scrape time from
// where it lives — the router process's counters (through its admin
// socket), the deployments and the pipeline executions in the store — so
// nothing is counted twice and a restarted daemon reports the same totals.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/pipeline"
	"github.com/canaryflow/canaryflow/internal/router"
)

// Source is what the collector reads. Router, Services, Deployments and
// Revision are required; Executions is nil without a pipeline.
type Source struct {
	Router      func(context.Context) (router.Snapshot, error)
	Services    func() ([]deploy.ServiceStatus, error)
	Deployments func() ([]deploy.Deployment, error)
	Revision    func(service string, n int) (*deploy.Revision, error)
	Executions  func() ([]pipeline.Execution, error)
	Logger      *slog.Logger
}

// BuildBuckets are the build duration histogram's bounds, in seconds.
var BuildBuckets = []float64{5, 10, 30, 60, 120, 300, 600, 1800}

var classes = [4]string{"2xx", "3xx", "4xx", "5xx"}

type collector struct {
	src Source

	requests, responses, upstreamErrors, latency, weight, targets *prometheus.Desc
	deployments, executions, rollbacks, build                     *prometheus.Desc
	alarmState, alarmValue, alarmThreshold, alarmBreached         *prometheus.Desc
	up                                                            *prometheus.Desc
}

// Handler serves the metrics in Prometheus's text format from a registry
// of its own (with the Go runtime's and the process's own metrics).
func Handler(src Source) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(New(src), prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Timeout: 10 * time.Second})
}

// New returns the collector of canaryflow's own metrics.
func New(src Source) prometheus.Collector {
	vst := []string{"service", "version", "task_set"}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("canaryflow_"+name, help, labels, nil)
	}
	return &collector{
		src:            src,
		requests:       d("requests_total", "Production and test requests the router forwarded to a task set.", vst...),
		responses:      d("responses_total", "Responses the router sent for a task set, by status code class.", append(vst, "code")...),
		upstreamErrors: d("upstream_errors_total", "Requests the router could not forward to or read back from a task set's targets.", vst...),
		latency:        d("request_duration_seconds", "Time from a request to the end of its response, per task set.", vst...),
		weight:         d("traffic_weight_ratio", "Share of the production listener's traffic a task set is given (0 to 1).", vst...),
		targets:        d("targets", "A task set's targets in the router, by health state.", append(vst, "state")...),
		deployments:    d("deployments", "Deployments by status.", "service", "status"),
		executions:     d("pipeline_executions", "Pipeline executions by status.", "status"),
		rollbacks:      d("rollbacks_total", "Deployments whose production traffic was returned to blue.", "service"),
		build:          d("build_duration_seconds", "Duration of the pipeline's Build stage, for the executions kept.", "status"),
		alarmState:     d("alarm_state", "1 for the alarm state of each deployment in progress.", "service", "deployment", "state"),
		alarmValue:     d("alarm_period_value", "The latest alarm period's datapoint for a deployment in progress.", "service", "deployment", "metric"),
		alarmThreshold: d("alarm_threshold", "The threshold the datapoint is judged against.", "service", "deployment", "metric"),
		alarmBreached:  d("alarm_period_breached", "1 when the latest alarm period breached the named metric's threshold.", "service", "deployment", "metric"),
		up:             d("router_up", "1 when the router process answered this scrape."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.responses, c.upstreamErrors, c.latency, c.weight, c.targets,
		c.deployments, c.executions, c.rollbacks, c.build, c.alarmState, c.alarmValue, c.alarmThreshold, c.alarmBreached, c.up} {
		ch <- d
	}
}

// taskSetLabels names a task set by its service and version.
type taskSetLabels struct{ service, version string }

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	ds, err := c.src.Deployments()
	if err != nil {
		c.warn("list deployments", err)
	}
	c.deploymentMetrics(ch, ds)
	c.pipelineMetrics(ch)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	snap, err := c.src.Router(ctx)
	if err != nil {
		c.warn("read the router", err)
		gauge(c.up, 0)
		return
	}
	gauge(c.up, 1)
	names := c.taskSets(ds)
	weights := map[string]float64{}
	if snap.Blue.Name != "" {
		weights[snap.Blue.Name] = float64(snap.Weights.Blue) / router.WeightScale
	}
	if snap.Green.Name != "" {
		weights[snap.Green.Name] = float64(snap.Weights.Green) / router.WeightScale
	}
	for name, g := range snap.Groups {
		ts, ok := names[name]
		if !ok {
			continue // not a task set of a deployment: nothing to name it by
		}
		l := []string{ts.service, ts.version, name}
		ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(g.Requests), l...)
		for i, n := range g.Responses {
			ch <- prometheus.MustNewConstMetric(c.responses, prometheus.CounterValue, float64(n), append(l, classes[i])...)
		}
		ch <- prometheus.MustNewConstMetric(c.upstreamErrors, prometheus.CounterValue, float64(g.UpstreamErrors), l...)
		ch <- histogram(c.latency, g.Latency, l...)
		gauge(c.weight, weights[name], l...)
		gauge(c.targets, float64(g.HealthyTargets), append(l, "healthy")...)
		gauge(c.targets, float64(g.UnhealthyTargets), append(l, "unhealthy")...)
		gauge(c.targets, float64(g.DrainingTargets), append(l, "draining")...)
	}
}

// taskSets names every task set a deployment made or replaced by its
// service and its revision's version.
func (c *collector) taskSets(ds []deploy.Deployment) map[string]taskSetLabels {
	out := map[string]taskSetLabels{}
	version := map[string]string{}
	name := func(service string, rev int) string {
		key := service + "/" + strconv.Itoa(rev)
		if v, ok := version[key]; ok {
			return v
		}
		v := "revision " + strconv.Itoa(rev)
		if r, err := c.src.Revision(service, rev); err == nil {
			v = r.Version()
		}
		version[key] = v
		return v
	}
	for _, d := range ds {
		if d.GreenTaskSet != "" {
			out[d.GreenTaskSet] = taskSetLabels{d.Service, name(d.Service, d.Revision)}
		}
		if d.BlueTaskSet != "" && d.PreviousRevision != 0 {
			out[d.BlueTaskSet] = taskSetLabels{d.Service, name(d.Service, d.PreviousRevision)}
		}
	}
	return out
}

func (c *collector) deploymentMetrics(ch chan<- prometheus.Metric, ds []deploy.Deployment) {
	type key struct{ service, status string }
	counts := map[key]int{}
	rollbacks := map[string]int{}
	services := map[string]bool{}
	for _, d := range ds {
		services[d.Service] = true
		counts[key{d.Service, d.Status}]++
		if d.RolledBack {
			rollbacks[d.Service]++
		}
		if !d.Done() && d.Status != deploy.StatusQueued {
			c.alarmMetrics(ch, d)
		}
	}
	statuses := []string{deploy.StatusCreated, deploy.StatusQueued, deploy.StatusInProgress, deploy.StatusReady,
		deploy.StatusBaking, deploy.StatusSucceeded, deploy.StatusFailed, deploy.StatusStopped}
	for svc := range services {
		for _, st := range statuses {
			ch <- prometheus.MustNewConstMetric(c.deployments, prometheus.GaugeValue, float64(counts[key{svc, st}]), svc, st)
		}
		ch <- prometheus.MustNewConstMetric(c.rollbacks, prometheus.CounterValue, float64(rollbacks[svc]), svc)
	}
}

func (c *collector) alarmMetrics(ch chan<- prometheus.Metric, d deploy.Deployment) {
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, append([]string{d.Service, d.ID}, labels...)...)
	}
	for _, st := range []string{deploy.AlarmOK, deploy.AlarmActive, deploy.AlarmInsufficientData} {
		v := 0.0
		if d.Alarm.State == st {
			v = 1
		}
		gauge(c.alarmState, v, st)
	}
	e := d.Alarm.Last
	if e == nil {
		return
	}
	breached := func(name string) float64 {
		if e.Breached == name {
			return 1
		}
		return 0
	}
	gauge(c.alarmValue, e.ErrorRatePercent/100, "error_rate")
	gauge(c.alarmThreshold, e.ErrorRateThreshold/100, "error_rate")
	gauge(c.alarmBreached, breached("error_rate"), "error_rate")
	gauge(c.alarmValue, e.P99Seconds, "p99_latency_seconds")
	if e.P99Threshold > 0 {
		gauge(c.alarmThreshold, e.P99Threshold, "p99_latency_seconds")
	}
	gauge(c.alarmBreached, breached("p99_latency"), "p99_latency_seconds")
	gauge(c.alarmValue, float64(e.Unhealthy), "unhealthy_targets")
	gauge(c.alarmThreshold, float64(e.UnhealthyThreshold), "unhealthy_targets")
	gauge(c.alarmBreached, breached("unhealthy_targets"), "unhealthy_targets")
	gauge(c.alarmValue, float64(e.Requests), "requests")
}

func (c *collector) pipelineMetrics(ch chan<- prometheus.Metric) {
	if c.src.Executions == nil {
		return
	}
	es, err := c.src.Executions()
	if err != nil {
		c.warn("list executions", err)
		return
	}
	counts := map[pipeline.Status]int{}
	type hist struct {
		count   uint64
		sum     float64
		buckets map[float64]uint64
	}
	builds := map[pipeline.Status]*hist{}
	for _, e := range es {
		counts[e.Status]++
		b := e.Stage("Build")
		if b == nil || !b.Status.Done() || b.Start.IsZero() || b.End.IsZero() {
			continue
		}
		h := builds[b.Status]
		if h == nil {
			h = &hist{buckets: map[float64]uint64{}}
			builds[b.Status] = h
		}
		secs := b.End.Sub(b.Start).Seconds()
		h.count++
		h.sum += secs
		for _, le := range BuildBuckets {
			if secs <= le {
				h.buckets[le]++
			}
		}
	}
	for _, st := range []pipeline.Status{pipeline.InProgress, pipeline.Succeeded, pipeline.Failed, pipeline.Stopped, pipeline.Superseded} {
		ch <- prometheus.MustNewConstMetric(c.executions, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
	for st, h := range builds {
		ch <- prometheus.MustNewConstHistogram(c.build, h.count, h.sum, h.buckets, string(st))
	}
}

func histogram(d *prometheus.Desc, h router.Histogram, labels ...string) prometheus.Metric {
	bounds := router.LatencyBounds()
	buckets := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, b := range bounds {
		if i < len(h.Counts) {
			cum += h.Counts[i]
		}
		buckets[b] = cum
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum.Seconds(), buckets, labels...)
}

func (c *collector) warn(what string, err error) {
	if c.src.Logger != nil {
		c.src.Logger.Warn(what, "err", err)
	}
}
