package aws

import (
	"bytes"
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

// connectionsAPI stands in for AWS CodeStar Connections, which moto 5.2.1
// does not have. It speaks the service's protocol (AWS JSON 1.0, operation
// in X-Amz-Target), checks every request against the service model the
// AWS CLI validates with (botocore's codestar-connections 2019-12-01),
// keeps connections in memory, and lets a test play the person who
// approves one in the console.
type connectionsAPI struct {
	model *serviceModel

	mu    sync.Mutex
	conns map[string]*fakeConnection // by ARN
	calls []modelCall
	// approveAfter makes a new connection AVAILABLE after this many
	// GetConnection calls; negative means never.
	approveAfter int
}

type fakeConnection struct {
	name, status string
	tags         []any
	polls        int
}

func newConnectionsAPI(t *testing.T) *connectionsAPI {
	t.Helper()
	return &connectionsAPI{model: loadModel(t, "codestar-connections/2019-12-01"), conns: map[string]*fakeConnection{}, approveAfter: -1}
}

const connectionsTarget = "CodeStar_connections_20191201"

func (c *connectionsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	fail := func(code int, typ, msg string) {
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, typ, msg)
	}
	if prefix != connectionsTarget {
		fail(400, "UnknownOperationException", "target "+prefix)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		fail(400, "SerializationException", err.Error())
		return
	}
	if err := c.model.validate(op, in); err != nil {
		fail(400, "ValidationException", err.Error())
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, modelCall{Operation: op, Body: in})
	answer := func(v any) { json.NewEncoder(w).Encode(v) }
	view := func(arn string, fc *fakeConnection) map[string]any {
		return map[string]any{"ConnectionArn": arn, "ConnectionName": fc.name, "ConnectionStatus": fc.status, "ProviderType": "GitHub", "OwnerAccountId": "123456789012"}
	}
	arn, _ := in["ConnectionArn"].(string)
	if arn == "" {
		arn, _ = in["ResourceArn"].(string)
	}
	fc := c.conns[arn]
	switch op {
	case "CreateConnection":
		arn = fmt.Sprintf("arn:aws:codestar-connections:us-west-2:123456789012:connection/%08d-aaaa-bbbb-cccc-dddddddddddd", len(c.conns)+1)
		tags, _ := in["Tags"].([]any)
		c.conns[arn] = &fakeConnection{name: in["ConnectionName"].(string), status: "PENDING", tags: tags}
		answer(map[string]any{"ConnectionArn": arn, "Tags": tags})
	case "ListConnections":
		var list []any
		for a, x := range c.conns {
			list = append(list, view(a, x))
		}
		answer(map[string]any{"Connections": list})
	case "GetConnection", "DeleteConnection", "ListTagsForResource":
		if fc == nil {
			fail(400, "ResourceNotFoundException", "no connection "+arn)
			return
		}
		switch op {
		case "GetConnection":
			fc.polls++
			if fc.status == "PENDING" && c.approveAfter >= 0 && fc.polls > c.approveAfter {
				fc.status = "AVAILABLE"
			}
			answer(map[string]any{"Connection": view(arn, fc)})
		case "DeleteConnection":
			delete(c.conns, arn)
			answer(map[string]any{})
		default:
			answer(map[string]any{"Tags": fc.tags})
		}
	default:
		fail(400, "UnknownOperationException", op)
	}
}

func (c *connectionsAPI) called(op string) []modelCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []modelCall
	for _, x := range c.calls {
		if x.Operation == op {
			out = append(out, x)
		}
	}
	return out
}

// approve plays the person who approves every pending connection.
func (c *connectionsAPI) approve() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fc := range c.conns {
		if fc.status == "PENDING" {
			fc.status = "AVAILABLE"
		}
	}
}

// stepClock moves on by each wait it is asked for, at once.
type stepClock struct {
	now   time.Time
	waits int
}

func (c *stepClock) Now() time.Time { return c.now }
func (c *stepClock) After(d time.Duration) <-chan time.Time {
	c.waits++
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// connectionOnly is a provisioner whose only resource is the GitHub
// connection, on clients that reach the connectionsAPI above.
func connectionOnly(t *testing.T, api *connectionsAPI, o ProvisionOptions) (*Provisioner, *bytes.Buffer) {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	c := motoClients(t, srv.URL)
	s := testSpec()
	s.Service, s.ConnectionARN = "conn", ""
	var out bytes.Buffer
	o.Out = &out
	p, err := NewProvisioner(c, s, o)
	if err != nil {
		t.Fatal(err)
	}
	p.list = []resource{p.connectionResource()}
	return p, &out
}

// TestApplyCreatesConnectionAndWaitsForApproval: with no connection
// given, apply creates one named after the service and tagged, prints its
// console page, polls until a person approves it, and destroy deletes it.
func TestApplyCreatesConnectionAndWaitsForApproval(t *testing.T) {
	api := newConnectionsAPI(t)
	api.approveAfter = 3
	clock := &stepClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	p, out := connectionOnly(t, api, ProvisionOptions{ConnectionWait: 10 * time.Minute, PollInterval: 10 * time.Second, Clock: clock})
	ctx := context.Background()
	if err := p.Apply(ctx); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	create := api.called("CreateConnection")
	if len(create) != 1 || create[0].Body["ConnectionName"] != "conn-github" || create[0].Body["ProviderType"] != "GitHub" {
		t.Fatalf("CreateConnection calls: %+v", create)
	}
	if tags := fmt.Sprint(create[0].Body["Tags"]); !strings.Contains(tags, TagManagedBy) {
		t.Errorf("connection tags %s lack %s", tags, TagManagedBy)
	}
	arn := p.Live().ConnectionARN
	id := arn[strings.LastIndex(arn, "/")+1:]
	for _, want := range []string{
		"create github connection conn-github",
		"open https://us-west-2.console.aws.amazon.com/codesuite/settings/123456789012/us-west-2/connections/" + id + "?region=us-west-2",
		"Update pending connection", "AWS Connector app on acme",
		"waiting for approval: 0s of 10m0s", "waiting for approval: 20s of 10m0s", "approved after 30s",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("apply output lacks %q:\n%s", want, out)
		}
	}
	if clock.waits != 3 || len(api.called("GetConnection")) != 4 {
		t.Errorf("waited %d times with %d polls; want 3 and 4", clock.waits, len(api.called("GetConnection")))
	}
	// The pipeline names the connection apply created.
	if got := p.b.pipeline().Pipeline.Stages[0].Actions[0].Configuration["ConnectionArn"]; got != arn {
		t.Errorf("pipeline source ConnectionArn = %q, want %q", got, arn)
	}
	plan, err := p.Plan(ctx)
	if err != nil || plan.Changes() != 0 {
		t.Errorf("plan after approval: %v %v", plan, err)
	}
	out.Reset()
	if err := p.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if d := api.called("DeleteConnection"); len(d) != 1 || d[0].Body["ConnectionArn"] != arn {
		t.Errorf("DeleteConnection calls: %+v", d)
	}
}

// TestConnectionWaitTimesOut: nobody approves; apply gives up after the
// wait with ErrManualStep and says so.
func TestConnectionWaitTimesOut(t *testing.T) {
	api := newConnectionsAPI(t)
	clock := &stepClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	p, out := connectionOnly(t, api, ProvisionOptions{ConnectionWait: time.Minute, PollInterval: 15 * time.Second, Clock: clock})
	err := p.Apply(context.Background())
	if !errors.Is(err, ErrManualStep) || !strings.Contains(err.Error(), "still PENDING after 1m0s") {
		t.Fatalf("apply = %v\n%s", err, out)
	}
	if clock.waits != 4 {
		t.Errorf("waited %d times, want 4 (15s each up to 1m)", clock.waits)
	}
}

// TestDestroyKeepsAConnectionCanaryflowDidNotCreate: a connection with the
// service's name but without canaryflow's tag is used, never deleted.
func TestDestroyKeepsAConnectionCanaryflowDidNotCreate(t *testing.T) {
	api := newConnectionsAPI(t)
	arn := "arn:aws:codestar-connections:us-west-2:123456789012:connection/feedface-0000-0000-0000-000000000000"
	api.conns[arn] = &fakeConnection{name: "conn-github", status: "AVAILABLE"}
	p, out := connectionOnly(t, api, ProvisionOptions{})
	ctx := context.Background()
	if err := p.Apply(ctx); err != nil || len(api.called("CreateConnection")) != 0 {
		t.Fatalf("apply = %v, creates %d\n%s", err, len(api.called("CreateConnection")), out)
	}
	if p.Live().ConnectionARN != arn {
		t.Errorf("apply uses %q, want the existing %s", p.Live().ConnectionARN, arn)
	}
	if err := p.Destroy(ctx); err != nil || len(api.called("DeleteConnection")) != 0 || !strings.Contains(out.String(), "keep   github connection conn-github (not created by canaryflow)") {
		t.Errorf("destroy = %v, deletes %d\n%s", err, len(api.called("DeleteConnection")), out)
	}
}
