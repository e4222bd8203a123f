package deploy

import (
	"math"
	"time"
)

// Metrics is a target group's cumulative counters as the router reports
// them, plus its targets' current health.
type Metrics struct {
	Requests uint64
	Errors   uint64
	// Latency is a cumulative histogram: Latency[i].Count requests took at
	// most Latency[i].UpperBound; the last bucket may have UpperBound 0,
	// meaning +Inf.
	Latency   []LatencyBucket
	Healthy   int
	Unhealthy int
}

// LatencyBucket is one bucket of a cumulative latency histogram.
type LatencyBucket struct {
	UpperBound time.Duration
	Count      uint64
}

// sampleBetween turns two snapshots of cumulative counters into the
// sample for the period between them. Counters that went backwards (the
// router restarted) count from zero.
func sampleBetween(prev, cur Metrics) Sample {
	if cur.Requests < prev.Requests || cur.Errors < prev.Errors {
		prev = Metrics{}
	}
	s := Sample{Requests: cur.Requests - prev.Requests, Errors: cur.Errors - prev.Errors, Unhealthy: cur.Unhealthy}
	if s.Requests == 0 || len(cur.Latency) == 0 {
		return s
	}
	prevCount := map[time.Duration]uint64{}
	for _, b := range prev.Latency {
		prevCount[b.UpperBound] = b.Count
	}
	var total uint64
	if last := cur.Latency[len(cur.Latency)-1]; last.Count >= prevCount[last.UpperBound] {
		total = last.Count - prevCount[last.UpperBound]
	}
	want := uint64(math.Ceil(float64(total) * 0.99))
	for _, b := range cur.Latency {
		n := b.Count - min(b.Count, prevCount[b.UpperBound])
		if n >= want && total > 0 {
			s.P99 = b.UpperBound
			if s.P99 == 0 {
				s.P99 = time.Duration(math.MaxInt64) // beyond the last finite bucket
			}
			return s
		}
	}
	return s
}
