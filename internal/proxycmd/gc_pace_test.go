package proxycmd

import (
	"context"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercentForHoldsTheHeadroom(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		base uint64
		want int
	}{
		{0, gcPercentMax},              // nothing measured yet: Go's default
		{2 * mb, gcPercentMax},         // a few connections: collect no more often than Go would
		{4 * mb, 100},                  // 4 MB of growth on 4 MB live
		{8 * mb, 50},                   // half
		{10 * mb, 40},                  // 4 MB of 10
		{16 * mb, gcPercentMin},        // 25%: 4 MB
		{64 * mb, gcPercentMin},        // never below the floor, however large the heap
		{3*mb + mb/2, gcPercentMax},    // above the ceiling: clamped
		{12*mb + mb/2, 32},             // rounded down
		{1 << 40, gcPercentMin},        // no overflow
		{1, gcPercentMax},              // tiny
		{gcHeadroom, gcPercentMax},     // exactly the headroom
		{gcHeadroom * 4, gcPercentMin}, // exactly the floor
	} {
		if got := gcPercentFor(c.base, gcHeadroom); got != c.want {
			t.Errorf("gcPercentFor(%d MB) = %d, want %d", c.base/mb, got, c.want)
		}
	}
}

// TestPaceGCSetsThePercentFromTheLiveHeap runs the pacer on ticks the test
// sends: it sets the collector's percentage from what the last collection
// found live, and leaves it alone once ctx ends.
func TestPaceGCSetsThePercentFromTheLiveHeap(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	// Hold 40 MB live so the percentage must come down to the floor.
	held := make([][]byte, 40)
	for i := range held {
		held[i] = make([]byte, 1<<20)
		held[i][0] = 1
	}
	debug.FreeOSMemory() // a collection that sees them

	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time)
	done := make(chan struct{})
	go func() { PaceGC(ctx, ticks); close(done) }()
	ticks <- time.Now() // the first pass has run once this is received
	if got := debug.SetGCPercent(100); got != gcPercentMin {
		t.Errorf("with 40 MB live, GOGC = %d, want %d", got, gcPercentMin)
	}
	cancel()
	<-done
	if got := debug.SetGCPercent(77); got != 100 {
		t.Errorf("after ctx ended the pacer changed GOGC to %d", got)
	}
	held[0][1] = 1 // held until here
}
