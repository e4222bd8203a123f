package proxycmd

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The standalone proxy paces its garbage collector by a fixed amount of
// headroom rather than by a fixed percentage of its heap.
//
// Go collects when the heap has grown by GOGC percent of what the last
// collection found live (heap, goroutine stacks and globals). A router's
// live memory is mostly its connections', and what it allocates per request
// does not grow with them: with a fixed percentage, a thousand connections
// double the garbage it lets pile up between collections without a single
// request more. Held to a few megabytes of growth instead, a busy router
// with thousands of connections keeps that much less memory for the same
// collections per request, and a router with a handful of connections
// collects less often than at a low fixed percentage.
const (
	gcHeadroom   = 4 << 20 // bytes the heap may grow between collections
	gcPercentMin = 25      // never collect more often than this
	gcPercentMax = 100     // Go's default: never less often
)

// GCPaceInterval is how often the standalone binary runs PaceGC.
const GCPaceInterval = time.Second

// gcPercentFor is the GOGC that lets the heap grow by about headroom
// bytes over base, what the last collection found live, within
// [gcPercentMin, gcPercentMax].
func gcPercentFor(base, headroom uint64) int {
	if base == 0 {
		return gcPercentMax
	}
	p := headroom * 100 / base
	switch {
	case p < gcPercentMin:
		return gcPercentMin
	case p > gcPercentMax:
		return gcPercentMax
	}
	return int(p)
}

// gcSamples are what the collector's goal is computed from.
var gcSamples = []string{"/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"}

// liveBase reads what the last collection found live: the base of Go's
// heap goal.
func liveBase(samples []metrics.Sample) uint64 {
	metrics.Read(samples)
	var base uint64
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			base += s.Value.Uint64()
		}
	}
	return base
}

// PaceGC sets the collector's percentage from the live heap at once and
// then at every tick until ctx ends, so that the heap grows by about
// gcHeadroom between collections. It changes the percentage only when it
// moves by a tenth or more. The caller leaves it out when GOGC is set: the
// user's choice stands.
func PaceGC(ctx context.Context, ticks <-chan time.Time) {
	samples := make([]metrics.Sample, len(gcSamples))
	for i, name := range gcSamples {
		samples[i].Name = name
	}
	current := -1
	for {
		if p := gcPercentFor(liveBase(samples), gcHeadroom); current < 0 || p*10 < current*9 || p*10 > current*11 {
			debug.SetGCPercent(p)
			current = p
		}
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
	}
}
