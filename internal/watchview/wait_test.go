package watchview

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestRenderReadyWait: a deployment waiting for approval says until when,
// how long is left, and the commands that approve or stop it.
func TestRenderReadyWait(t *testing.T) {
	now := time.Date(2026, 12, 4, 14, 0, 1, 0, time.UTC)
	d := look("Ready", "BeforeAllowTraffic", 0, false, false)
	d.ID = "d-000123"
	d.Now = now
	d.Ready = &ReadyWait{Until: now.Add(4*time.Minute + 59*time.Second),
		Approve: "canaryflow deploy approve d-000123", Stop: "canaryflow deploy stop d-000123"}
	var b bytes.Buffer
	Render(&b, d, nil, 0)
	for _, want := range []string{
		"Waiting for approval until 14:05:00 UTC (in 4m59s); then it stops.\n",
		"  approve: canaryflow deploy approve d-000123\n",
		"  stop:    canaryflow deploy stop d-000123\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("render lacks %q:\n%s", want, b.String())
		}
	}
	if got, want := Summary(d), "waiting for approval until 14:05:00 UTC: canaryflow deploy approve d-000123"; !strings.HasSuffix(got, want) {
		t.Errorf("summary %q does not end with %q", got, want)
	}

	// A deadline on another day names the day; a passed one is due now.
	d.Ready.Until = now.Add(20 * time.Hour)
	b.Reset()
	Render(&b, d, nil, 0)
	if want := "until 2026-12-05 10:00:01 UTC (in 20h0m0s)"; !strings.Contains(b.String(), want) {
		t.Errorf("render lacks %q:\n%s", want, b.String())
	}
	d.Ready.Until = now.Add(-time.Second)
	b.Reset()
	Render(&b, d, nil, 0)
	if want := "until 14:00:00 UTC (due now)"; !strings.Contains(b.String(), want) {
		t.Errorf("render lacks %q:\n%s", want, b.String())
	}
}

// TestRenderTrafficWait: a step held for evidence says how many requests
// it has of how many, and how to stop it.
func TestRenderTrafficWait(t *testing.T) {
	d := look("InProgress", "AllowTraffic", 10, false, false)
	d.TrafficWait = &TrafficWait{Requests: 3, Want: 10, Stop: "canaryflow deploy stop d-1"}
	var b bytes.Buffer
	Render(&b, d, nil, 0)
	for _, want := range []string{
		"Waiting for traffic: 3 of 10 requests to green in this step; it moves on once they arrive.\n",
		"  stop:    canaryflow deploy stop d-1\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("render lacks %q:\n%s", want, b.String())
		}
	}
	if got := Summary(d); got != "d-1 InProgress step=AllowTraffic green=10% waiting for traffic" {
		t.Errorf("summary %q", got)
	}
}

// TestWatchTimesTheWait: Watch tells Render the time of each look, so the
// redrawn view counts the ready wait down.
func TestWatchTimesTheWait(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 12, 4, 14, 0, 0, 0, time.UTC)}
	until := clock.now.Add(5 * time.Minute)
	i := 0
	get := func(context.Context) (*Deployment, error) {
		i++
		d := look("Ready", "BeforeAllowTraffic", 0, i == 2, i == 2)
		d.Ready = &ReadyWait{Until: until, Approve: "canaryflow deploy approve d-1", Stop: "canaryflow deploy stop d-1"}
		return d, nil
	}
	var b bytes.Buffer
	if err := Watch(context.Background(), &b, get, Options{Redraw: true, Interval: 10 * time.Second, Clock: clock}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"until 14:05:00 UTC (in 5m0s)", "until 14:05:00 UTC (in 4m50s)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("watch lacks %q:\n%s", want, b.String())
		}
	}
}
