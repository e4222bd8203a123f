package watchview

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type fakeClock struct {
	now   time.Time
	waits int
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.waits++
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func look(status, step string, green int, done, ok bool) *Deployment {
	return &Deployment{ID: "d-1", Service: "hello", Status: status, Step: step, GreenPercent: green, Done: done, Succeeded: ok,
		Revision: 3, PreviousRevision: 2, BlueTaskSet: "ts-2",
		Traffic: &Traffic{GreenPercent: float64(green), Blue: Group{TaskSet: "hello:2", Running: 2, Desired: 2, Healthy: 2}, Green: Group{TaskSet: "hello:3", Running: 1, Desired: 2, Healthy: 1}},
		Events:  []Event{{Name: "Install", Status: "Succeeded", Start: time.Unix(0, 0), End: time.Unix(3, 0)}, {Name: "AllowTraffic", Status: "InProgress", Detail: "hook Check"}}}
}

// TestRender: what a person reads, for a backend that counts requests
// (local) and one that shows tasks (AWS).
func TestRender(t *testing.T) {
	var b bytes.Buffer
	d := look("InProgress", "AllowTraffic", 10, false, false)
	d.Alarm = Alarm{State: "OK", Reason: "hello-green-5xx: OK"}
	Render(&b, d, nil, 0)
	for _, want := range []string{
		"Deployment d-1  service hello  revision 3  status InProgress",
		"Rollback target: revision 2 (task set ts-2)",
		"Traffic  blue  90.0% " + strings.Repeat("█", 36) + strings.Repeat("░", 4) + "  10.0% green",
		"  blue  hello:2    2/2 tasks running, 2 healthy",
		"  green hello:3    1/2 tasks running, 1 healthy",
		"Alarms: OK hello-green-5xx: OK",
		"  Install       Succeeded   3s  ",
		"  AllowTraffic  InProgress      hook Check",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("render lacks %q:\n%s", want, b.String())
		}
	}
	prev := look("InProgress", "AllowTraffic", 10, false, false)
	prev.Traffic.Green = Group{TaskSet: "ts-3", Counted: true, Requests: 100, Errors: 1}
	d.Traffic.Green = Group{TaskSet: "ts-3", Counted: true, Requests: 120, Errors: 3, Healthy: 2}
	d.Alarm = Alarm{State: "ALARM", Counted: true, Requests: 120, Errors: 3, Reason: "error rate"}
	b.Reset()
	Render(&b, d, prev, 2*time.Second)
	for _, want := range []string{"  green ts-3       120 requests, 3 errors, 2 healthy  (10.0 req/s, 1.0 err/s)", "Alarms: ALARM (green: 120 requests, 3 errors) error rate"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("render lacks %q:\n%s", want, b.String())
		}
	}
}

// TestWatch: a line per change, the whole view at the end, an error
// naming the status when it did not succeed.
func TestWatch(t *testing.T) {
	looks := []*Deployment{
		look("InProgress", "Install", 0, false, false),
		look("InProgress", "Install", 0, false, false),
		look("InProgress", "AllowTraffic", 10, false, false),
		look("Stopped", "AllowTraffic", 0, true, false),
	}
	looks[3].Error = &Error{Code: "ALARM_ACTIVE", Message: "hello-green-5xx"}
	i := 0
	get := func(context.Context) (*Deployment, error) { i++; return looks[i-1], nil }
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var b bytes.Buffer
	err := Watch(context.Background(), &b, get, Options{Interval: 5 * time.Second, Clock: clock})
	var ns *NotSucceededError
	if !errors.As(err, &ns) || err.Error() != "deployment d-1 stopped" {
		t.Fatalf("watch = %v", err)
	}
	want := "03:04:05 d-1 InProgress step=Install green=0%\n" +
		"03:04:15 d-1 InProgress step=AllowTraffic green=10%\n" +
		"03:04:20 d-1 Stopped step=AllowTraffic green=0% error=ALARM_ACTIVE\n" +
		"Deployment d-1  service hello  revision 3  status Stopped\n"
	if !strings.HasPrefix(b.String(), want) || clock.waits != 3 {
		t.Errorf("watch printed (after %d waits):\n%s\nwant it to start with:\n%s", clock.waits, b.String(), want)
	}
	// JSON: the backend's own answer, once per change and at the end.
	i = 0
	looks[3] = look("Succeeded", "AllowTraffic", 100, true, true)
	looks[3].Raw = map[string]string{"deploymentId": "d-1", "status": "Succeeded"}
	b.Reset()
	if err := Watch(context.Background(), &b, get, Options{JSON: true, Clock: clock}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || lines[2] != `{"deploymentId":"d-1","status":"Succeeded"}` {
		t.Errorf("json watch:\n%s", b.String())
	}
}

// TestWatchRedraw: in a terminal every look clears the screen and draws the
// whole view, and from the second look on the counted groups show rates
// over the interval between looks.
func TestWatchRedraw(t *testing.T) {
	counts := []uint64{0, 50, 150}
	i := 0
	get := func(context.Context) (*Deployment, error) {
		d := look("InProgress", "AllowTraffic", 10, i == len(counts)-1, i == len(counts)-1)
		if d.Done {
			d.Status = "Succeeded"
		}
		d.Traffic.Green = Group{TaskSet: "ts-3", Counted: true, Requests: counts[i], Errors: counts[i] / 50, Healthy: 2}
		i++
		return d, nil
	}
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var b bytes.Buffer
	if err := Watch(context.Background(), &b, get, Options{Redraw: true, Interval: 10 * time.Second, Clock: clock}); err != nil {
		t.Fatal(err)
	}
	frames := strings.Split(b.String(), "\033[H\033[2J")
	if len(frames) != 4 || frames[0] != "" {
		t.Fatalf("want 3 frames each starting with a screen clear, got %d:\n%q", len(frames)-1, b.String())
	}
	if strings.Contains(frames[1], "req/s") {
		t.Errorf("first frame shows a rate without a previous look:\n%s", frames[1])
	}
	for n, want := range map[int]string{2: "(5.0 req/s, 0.1 err/s)", 3: "(10.0 req/s, 0.2 err/s)"} {
		if !strings.Contains(frames[n], want) {
			t.Errorf("frame %d lacks %q:\n%s", n, want, frames[n])
		}
	}
	if !strings.Contains(frames[3], "status Succeeded") {
		t.Errorf("last frame is not the final state:\n%s", frames[3])
	}
}
