package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/canaryflow/canaryflow/internal/pipeline"
)

// follow prints the execution of tag as it moves, with the live traffic
// view while the load generator runs, until it ends.
func (d *session) follow(ctx context.Context, tag string, pushed time.Time, green string) (*pipeline.Execution, error) {
	var e *pipeline.Execution
	lastStage, lastPrint := "", time.Time{}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: the pipeline did not finish within 3 minutes (see daemon.log)", tag)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		es, err := d.client.Executions(ctx)
		if err != nil {
			return nil, err
		}
		e = nil
		for i := range es {
			if es[i].Tag == tag {
				e = &es[i]
				break
			}
		}
		if e == nil {
			continue
		}
		stage := e.StageSummary()
		if stage != lastStage {
			d.endLive()
			d.say("  pipeline %s %s  %s", e.ID, tag, stage)
			lastStage = stage
		}
		if d.load != nil && e.DeploymentID != "" && time.Since(lastPrint) >= d.liveEvery() {
			d.live(ctx, pushed, e.DeploymentID)
			lastPrint = time.Now()
		}
		if e.Status.Done() {
			d.endLive()
			if e.Error != "" {
				d.say("  %s: %s", e.Status, e.Error)
			}
			return e, nil
		}
	}
}

func (d *session) liveEvery() time.Duration {
	if d.tty {
		return 250 * time.Millisecond
	}
	return time.Second
}

// live prints one line of the traffic view: the router's weight, what the
// load generator saw in the last second, and the deployment's step.
func (d *session) live(ctx context.Context, since time.Time, id string) {
	st, err := d.client.Status(ctx)
	if err != nil {
		return
	}
	step := ""
	if v, err := d.client.Get(ctx, id); err == nil {
		step = v.Deployment.Step
		if v.Deployment.Done() {
			step = v.Deployment.Status
		}
	}
	split, rps, errPct := d.load.window()
	line := fmt.Sprintf("  %5.1fs [%s] green %5.1f%% │ %s │ %3d rps, errors %4.1f%% │ %s",
		time.Since(since).Seconds(), bar(st.Traffic.GreenPercent, 20), st.Traffic.GreenPercent, split, rps, errPct, step)
	if d.tty {
		fmt.Fprintf(d.out, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(d.out, line)
	}
}

// endLive ends a redrawn line before ordinary output.
func (d *session) endLive() {
	if d.tty {
		fmt.Fprint(d.out, "\r\033[K")
	}
}

func outcome(e *pipeline.Execution) string {
	if e.Status == pipeline.Succeeded {
		return "deployed"
	}
	if strings.Contains(e.Error, "Deploy stage") {
		return "rolled back (" + string(e.Status) + ")"
	}
	return string(e.Status)
}

func (d *session) summary() {
	d.say("Summary")
	d.say("  %-8s %-22s %-14s %s", "release", "outcome", "tag → canary", "fault → rollback")
	for _, r := range d.rows {
		d.say("  %-8s %-22s %-14s %s", r.tag, r.outcome, ms(r.tagToCanary), ms(r.faultRollback))
	}
	tot := d.load.totals()
	var parts []string
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "?"} {
		if t, ok := tot[v]; ok {
			parts = append(parts, fmt.Sprintf("%s %d requests, %d errors", v, t.requests, t.errors))
		}
	}
	d.say("  load: %s", strings.Join(parts, "; "))
	d.say("  tag → canary: from the tag pushed to the first answer of the new version through the production listener")
	d.say("  fault → rollback: from the first 5xx of v1.2.0 to its last answer (all traffic back on v1.1.0)")
	d.say("  total time: %s", time.Since(d.start).Round(100*time.Millisecond))
}

func ms(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return d.Round(10 * time.Millisecond).String()
}

// bar draws a traffic split bar of width w: green's share in '█'.
func bar(greenPct float64, w int) string {
	n := int(greenPct/100*float64(w) + 0.5)
	n = max(0, min(w, n))
	return strings.Repeat("█", n) + strings.Repeat("░", w-n)
}
