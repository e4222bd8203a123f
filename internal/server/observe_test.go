package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/canaryflow/canaryflow/internal/deploy"
	eventstream "github.com/canaryflow/canaryflow/internal/events"
	"github.com/canaryflow/canaryflow/internal/metrics"
)

// scrape reads the daemon's /metrics with its token and parses it with
// Prometheus's own text parser.
func (e *e2e) scrape() map[string]*dto.MetricFamily {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+e.d.info.API+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+e.d.info.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		e.t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// series returns the metrics of a family whose labels include want.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// nextOf reads events until one of type typ whose data contains sub.
func nextOf(t *testing.T, dec *eventstream.Decoder, typ, sub string) eventstream.Event {
	t.Helper()
	for {
		ev, err := dec.Next()
		if err != nil {
			t.Fatalf("waiting for a %s event with %s: %v", typ, sub, err)
		}
		if ev.Type == typ && strings.Contains(string(ev.Data), sub) {
			return ev
		}
	}
}

func TestEventsAndMetricsDuringACanary(t *testing.T) {
	e := newE2E(t, canary5m)
	e.succeed("1.0.0")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dec, body, err := e.d.client.Events(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()

	d := e.create("1.1.0", "", nil)
	e.drive(d.ID, func(v *DeploymentView) bool { return v.Deployment.GreenPercent == 10 })
	shifted := nextOf(t, dec, eventstream.TypeTraffic, `"greenPercent":10`)
	var td eventstream.TrafficData
	if err := json.Unmarshal(shifted.Data, &td); err != nil || td.DeploymentID != d.ID || td.From != 0 {
		t.Fatalf("traffic event %s: %v", shifted.Data, err)
	}

	const sent = 40
	for range sent {
		if got := e.production(); !strings.HasPrefix(got, "Version: 1.") {
			t.Fatalf("production answered %q", got)
		}
	}
	// The charts' samples come on the same stream: both sides, named by
	// version, counting what was sent.
	for {
		ev := nextOf(t, dec, eventstream.TypeSample, `"deploymentId":"`+d.ID+`"`)
		var s metrics.Sample
		if err := json.Unmarshal(ev.Data, &s); err != nil {
			t.Fatal(err)
		}
		if s.Blue.Version != "1.0.0" || s.Green.Version != "1.1.0" || s.GreenPercent != 10 {
			t.Fatalf("sample %s", ev.Data)
		}
		if s.Blue.Requests+s.Green.Requests >= sent {
			break
		}
	}
	fams := e.scrape()
	weight := func(version string) float64 {
		ms := series(fams, "canaryflow_traffic_weight_ratio", map[string]string{"service": "hello", "version": version})
		if len(ms) != 1 {
			t.Fatalf("traffic_weight_ratio for %s: %d series", version, len(ms))
		}
		return ms[0].GetGauge().GetValue()
	}
	if b, g := weight("1.0.0"), weight("1.1.0"); b != 0.9 || g != 0.1 {
		t.Errorf("weights: 1.0.0 %v, 1.1.0 %v; want 0.9 and 0.1", b, g)
	}
	var total, histCount float64
	for _, v := range []string{"1.0.0", "1.1.0"} {
		for _, m := range series(fams, "canaryflow_requests_total", map[string]string{"version": v}) {
			total += m.GetCounter().GetValue()
		}
		for _, m := range series(fams, "canaryflow_request_duration_seconds", map[string]string{"version": v}) {
			histCount += float64(m.GetHistogram().GetSampleCount())
		}
		if len(series(fams, "canaryflow_responses_total", map[string]string{"version": v, "code": "5xx"})) != 1 {
			t.Errorf("no 5xx series for %s", v)
		}
	}
	// The health checks go to the targets, not through the listener: the
	// counters are the requests sent, give or take none.
	if total < sent || histCount != total {
		t.Errorf("requests_total %v and latency count %v over both versions; sent %d", total, histCount, sent)
	}
	if ms := series(fams, "canaryflow_deployments", map[string]string{"status": deploy.StatusInProgress}); len(ms) != 1 || ms[0].GetGauge().GetValue() != 1 {
		t.Errorf("deployments in progress: %v", ms)
	}
	if ms := series(fams, "canaryflow_alarm_state", map[string]string{"deployment": d.ID, "state": deploy.AlarmOK}); len(ms) != 1 {
		t.Errorf("alarm state of %s: %v", d.ID, ms)
	}

	// A client that lost its stream after the 10% event resumes from its
	// ID and gets exactly what followed, as the first stream does.
	e.drive(d.ID, nil)
	done := nextOf(t, dec, eventstream.TypeDeployment, `"status":"Succeeded"`)
	dec2, body2, err := e.d.client.Events(ctx, shifted.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer body2.Close()
	hundred := nextOf(t, dec2, eventstream.TypeTraffic, `"greenPercent":100`)
	if hundred.ID <= shifted.ID && len(hundred.ID) <= len(shifted.ID) {
		t.Errorf("resumed event %s is not after %s", hundred.ID, shifted.ID)
	}
	if again := nextOf(t, dec2, eventstream.TypeDeployment, `"status":"Succeeded"`); again.ID != done.ID {
		t.Errorf("resumed stream's Succeeded event %s, the first stream's %s", again.ID, done.ID)
	}
	fams = e.scrape()
	if ms := series(fams, "canaryflow_deployments", map[string]string{"status": deploy.StatusSucceeded}); len(ms) != 1 || ms[0].GetGauge().GetValue() != 2 {
		t.Errorf("deployments succeeded: %v", ms)
	}
}
