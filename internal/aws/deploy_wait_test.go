package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServiceDeployments is an ECS endpoint for the ECS-controller
// Deploy: it checks each request against ECS's service model, registers
// canary:2, takes UpdateService and answers ListServiceDeployments from
// lists, one per call (the last repeats), as ECS does when it lists a new
// service deployment only a moment after UpdateService.
type fakeServiceDeployments struct {
	model *serviceModel
	mu    sync.Mutex
	lists [][]string // serviceDeployments JSON objects, per call
	calls []modelCall
}

func (f *fakeServiceDeployments) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	body, _ := io.ReadAll(r.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if err := f.model.validate(op, m); err != nil {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":"ValidationException","message":%q}`, err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, modelCall{Operation: op, Body: m})
	switch op {
	case "RegisterTaskDefinition":
		io.WriteString(w, `{"taskDefinition":{"taskDefinitionArn":"arn:aws:ecs:us-west-2:123456789012:task-definition/canary:2","revision":2}}`)
	case "UpdateService":
		io.WriteString(w, `{"service":{"serviceName":"canary","taskDefinition":"arn:aws:ecs:us-west-2:123456789012:task-definition/canary:2"}}`)
	case "ListServiceDeployments":
		l := f.lists[0]
		if len(f.lists) > 1 {
			f.lists = f.lists[1:]
		}
		io.WriteString(w, `{"serviceDeployments":[`+strings.Join(l, ",")+`]}`)
	case "DescribeServiceRevisions":
		io.WriteString(w, `{"serviceRevisions":[{"serviceRevisionArn":"rev-1","taskDefinition":"arn:aws:ecs:us-west-2:123456789012:task-definition/canary:1"},`+
			`{"serviceRevisionArn":"rev-2","taskDefinition":"arn:aws:ecs:us-west-2:123456789012:task-definition/canary:2"}]}`)
	default:
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":"InvalidParameterException","message":"fake ECS does not answer %s"}`, op)
	}
}

func (f *fakeServiceDeployments) called(op string) []modelCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []modelCall
	for _, c := range f.calls {
		if c.Operation == op {
			out = append(out, c)
		}
	}
	return out
}

// TestDeployECSWaitsForTheNewServiceDeployment: right after UpdateService
// ECS lists only the service deployment before (finished, of canary:1,
// and an old one of canary:2 from before); Deploy must not take either
// but look again, on its clock, until the one UpdateService started
// (created after it, of canary:2) is listed, and give up with
// ErrServiceDeploymentNotListed when it never is.
func TestDeployECSWaitsForTheNewServiceDeployment(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	brief := func(arn, status, rev string, created time.Time) string {
		return fmt.Sprintf(`{"serviceDeploymentArn":%q,"status":%q,"targetServiceRevisionArn":%q,"createdAt":%d}`, arn, status, rev, created.Unix())
	}
	const prefix = "arn:aws:ecs:us-west-2:123456789012:service-deployment/canary/canary/"
	previous := brief(prefix+"previous", "SUCCESSFUL", "rev-1", start.Add(-time.Minute))
	ancient := brief(prefix+"ancient", "SUCCESSFUL", "rev-2", start.Add(-time.Hour))
	fresh := brief(prefix+"fresh", "PENDING", "rev-2", start.Add(time.Second))
	deployer := func(t *testing.T, lists ...[]string) (*Deployer, *fakeServiceDeployments, *stepClock) {
		f := &fakeServiceDeployments{model: loadModel(t, "ecs/2014-11-13"), lists: lists}
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		s := testSpec()
		s.Service = "canary"
		s.Controller = ControllerECS
		d, err := NewDeployer(motoClients(t, srv.URL), s)
		if err != nil {
			t.Fatal(err)
		}
		clock := &stepClock{now: start}
		d.SetClock(clock)
		return d, f, clock
	}
	ctx := context.Background()
	image := "123456789012.dkr.ecr.us-west-2.amazonaws.com/hello:v2.0.0"

	t.Run("listed late", func(t *testing.T) {
		d, f, clock := deployer(t, []string{previous, ancient}, []string{previous, ancient}, []string{fresh, previous, ancient})
		id, err := d.Deploy(ctx, image, "v2.0.0")
		if err != nil || id != prefix+"fresh" {
			t.Fatalf("deploy = %q, %v; want %sfresh", id, err, prefix)
		}
		lists := f.called("ListServiceDeployments")
		if len(lists) != 3 || clock.waits != 2 {
			t.Errorf("listed %d times with %d waits; want 3 and 2", len(lists), clock.waits)
		}
		for _, c := range lists {
			after, _ := c.Body["createdAt"].(map[string]any)["after"].(float64)
			if int64(after) != start.Add(-maxClockSkew).Unix() {
				t.Errorf("ListServiceDeployments createdAt filter %v, want after %s", c.Body["createdAt"], start.Add(-maxClockSkew))
			}
		}
	})
	t.Run("never listed", func(t *testing.T) {
		d, f, clock := deployer(t, []string{previous, ancient})
		d.sdWait, d.sdPoll = 10*time.Second, 2*time.Second
		id, err := d.Deploy(ctx, image, "v2.0.0")
		if !errors.Is(err, ErrServiceDeploymentNotListed) || id != "" {
			t.Fatalf("deploy = %q, %v; want %v", id, err, ErrServiceDeploymentNotListed)
		}
		if !strings.Contains(err.Error(), "canary:2") || !strings.Contains(err.Error(), "10s") {
			t.Errorf("error does not say what it waited for: %v", err)
		}
		if n := len(f.called("ListServiceDeployments")); n != 6 || clock.waits != 5 {
			t.Errorf("listed %d times with %d waits; want 6 and 5", n, clock.waits)
		}
	})
}
