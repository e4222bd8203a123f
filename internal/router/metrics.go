package router

import (
	"sync/atomic"
	"time"
)

// latencyBounds are the upper bounds, in seconds, of the latency histogram
// buckets; a last, unbounded bucket follows them.
func latencyBounds() []float64 {
	return []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

const numBuckets = 15 // len(latencyBounds()) + the unbounded bucket

// bucketOf returns the histogram bucket for d without allocating.
func bucketOf(d time.Duration) int {
	switch {
	case d <= 500*time.Microsecond:
		return 0
	case d <= time.Millisecond:
		return 1
	case d <= 2500*time.Microsecond:
		return 2
	case d <= 5*time.Millisecond:
		return 3
	case d <= 10*time.Millisecond:
		return 4
	case d <= 25*time.Millisecond:
		return 5
	case d <= 50*time.Millisecond:
		return 6
	case d <= 100*time.Millisecond:
		return 7
	case d <= 250*time.Millisecond:
		return 8
	case d <= 500*time.Millisecond:
		return 9
	case d <= time.Second:
		return 10
	case d <= 2500*time.Millisecond:
		return 11
	case d <= 5*time.Second:
		return 12
	case d <= 10*time.Second:
		return 13
	}
	return 14
}

// counters are the live, lock-free request counters of a group or target.
type counters struct {
	requests        atomic.Uint64
	responses       [4]atomic.Uint64 // 2xx, 3xx, 4xx, 5xx
	upstreamErrors  atomic.Uint64
	clientCancelled atomic.Uint64
	buckets         [numBuckets]atomic.Uint64
	sumNanos        atomic.Uint64
}

// record accounts for one finished request.
func (c *counters) record(status int, d time.Duration) {
	c.requests.Add(1)
	if status == StatusClientClosedRequest {
		c.clientCancelled.Add(1)
	}
	if i := status/100 - 2; i >= 0 && i < 4 {
		c.responses[i].Add(1)
	}
	c.buckets[bucketOf(d)].Add(1)
	c.sumNanos.Add(uint64(d))
}

// Counters is a point-in-time copy of a group's or target's counters. All
// counts only grow; subtract two copies (Sub) to get a rate over a window.
type Counters struct {
	Requests uint64 `json:"requests"`
	// Responses counts answers to clients by class: [0] 2xx, [1] 3xx, [2] 4xx,
	// [3] 5xx. Client cancellations (499) count as 4xx.
	Responses [4]uint64 `json:"responses"`
	// UpstreamErrors counts failures to connect to or read from a target.
	UpstreamErrors uint64 `json:"upstream_errors"`
	// ClientCancelled counts requests the client gave up on (logged as 499).
	ClientCancelled uint64    `json:"client_cancelled"`
	Latency         Histogram `json:"latency"`
}

func (c *counters) read() Counters {
	out := Counters{
		Requests:        c.requests.Load(),
		UpstreamErrors:  c.upstreamErrors.Load(),
		ClientCancelled: c.clientCancelled.Load(),
		Latency:         Histogram{Counts: make([]uint64, numBuckets), Sum: time.Duration(c.sumNanos.Load())},
	}
	for i := range out.Responses {
		out.Responses[i] = c.responses[i].Load()
	}
	for i := range c.buckets {
		n := c.buckets[i].Load()
		out.Latency.Counts[i] = n
		out.Latency.Count += n
	}
	return out
}

// Sub returns the counts accumulated since prev.
func (c Counters) Sub(prev Counters) Counters {
	out := Counters{
		Requests:        c.Requests - prev.Requests,
		UpstreamErrors:  c.UpstreamErrors - prev.UpstreamErrors,
		ClientCancelled: c.ClientCancelled - prev.ClientCancelled,
		Latency:         c.Latency.Sub(prev.Latency),
	}
	for i := range out.Responses {
		out.Responses[i] = c.Responses[i] - prev.Responses[i]
	}
	return out
}

// Histogram is a copy of a latency histogram: Counts[i] requests took at
// most LatencyBounds()[i] (and more than the previous bound); the last
// count is the unbounded bucket.
type Histogram struct {
	Counts []uint64      `json:"counts"`
	Count  uint64        `json:"count"`
	Sum    time.Duration `json:"sum_ns"`
}

// LatencyBounds returns the histogram's bucket upper bounds in seconds.
func LatencyBounds() []float64 { return latencyBounds() }

// Sub returns the histogram of the observations made since prev.
func (h Histogram) Sub(prev Histogram) Histogram {
	out := Histogram{Counts: make([]uint64, len(h.Counts)), Count: h.Count - prev.Count, Sum: h.Sum - prev.Sum}
	for i := range h.Counts {
		out.Counts[i] = h.Counts[i]
		if i < len(prev.Counts) {
			out.Counts[i] -= prev.Counts[i]
		}
	}
	return out
}

// Quantile estimates the q-quantile (0 < q ≤ 1) by linear interpolation
// inside its bucket, as Prometheus's histogram_quantile does. It returns 0
// for an empty histogram and the largest bound for the unbounded bucket.
func (h Histogram) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	bounds := latencyBounds()
	rank := q * float64(h.Count)
	var seen float64
	lower := 0.0
	for i, n := range h.Counts {
		if i >= len(bounds) {
			return secs(bounds[len(bounds)-1])
		}
		if seen+float64(n) >= rank && n > 0 {
			frac := (rank - seen) / float64(n)
			return secs(lower + (bounds[i]-lower)*frac)
		}
		seen += float64(n)
		lower = bounds[i]
	}
	return secs(bounds[len(bounds)-1])
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// GroupMetrics is what the deployment controller polls for its alarms.
type GroupMetrics struct {
	Counters
	// Weight is the group's configured per-mille of production traffic.
	Weight           int `json:"weight"`
	HealthyTargets   int `json:"healthy_targets"`
	UnhealthyTargets int `json:"unhealthy_targets"`
	DrainingTargets  int `json:"draining_targets"`
	// NoHealthyTarget is true while the group has no target able to take a
	// request: its share of production traffic goes to the other group.
	NoHealthyTarget bool `json:"no_healthy_target"`
	// Redirected counts requests the weights gave this group that went to the
	// other group because this one had no healthy target.
	Redirected uint64 `json:"redirected"`
}

// Metrics is one reading of the router's metrics.
type Metrics struct {
	Blue  GroupMetrics `json:"blue"`
	Green GroupMetrics `json:"green"`
	// Unavailable counts 503s answered because no target at all (or none in
	// a pinned group) was healthy.
	Unavailable uint64 `json:"unavailable"`
}

// Group returns the metrics of g.
func (m Metrics) Group(g Group) GroupMetrics {
	if g == Green {
		return m.Green
	}
	return m.Blue
}
