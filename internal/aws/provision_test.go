package aws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/canaryflow/canaryflow/internal/watchview"
)

// TestProvisionAgainstMoto: apply → plan shows no changes → destroy,
// through aws-sdk-go-v2 against moto_server. moto 5.2.1 has no
// DeleteApplication / DeleteDeploymentGroup: those requests are checked
// against CodeDeploy's service model by the proxy instead (see motoProxy).
func TestProvisionAgainstMoto(t *testing.T) {
	srv, mp := newMotoProxy(t, startMoto(t))
	c := motoClients(t, srv.URL)
	ctx := context.Background()
	s := testSpec()
	s.Region, s.Account = "", ""
	if err := Discover(ctx, c, &s); err != nil {
		t.Fatal(err)
	}
	if s.Region != "us-west-2" || s.Account != "123456789012" {
		t.Fatalf("discovered %s %s", s.Region, s.Account)
	}
	var out bytes.Buffer
	p, err := NewProvisioner(c, s, ProvisionOptions{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Changes() < 20 {
		t.Errorf("plan on an empty account:\n%v", plan.Items)
	}
	if err := p.Apply(ctx); err != nil {
		t.Fatalf("apply: %v\n%s", err, out.String())
	}
	t.Logf("apply:\n%s", out.String())

	// A fresh provisioner sees everything in place.
	p2, _ := NewProvisioner(c, s, ProvisionOptions{})
	plan, err = p2.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Changes() != 0 {
		var b bytes.Buffer
		plan.Write(&b)
		t.Fatalf("second plan is not empty:\n%s", b.String())
	}
	out.Reset()
	if err := p2.Apply(ctx); err != nil || strings.Contains(out.String(), "create") {
		t.Fatalf("second apply: %v\n%s", err, out.String())
	}

	// render --live: every identifier comes from the account, and doctor
	// finds nothing in the result.
	b, err := Render(s, p2.Live())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Placeholders) != 0 {
		t.Errorf("live render left %v", b.Placeholders)
	}
	dir := t.TempDir()
	b.Write(dir)
	if f := diagnoseDir(t, dir, &s); len(f) != 0 {
		t.Errorf("doctor on the live render: %v", f)
	}
	if f, err := DiagnoseAccount(ctx, c, s); err != nil || len(f) != 0 {
		t.Errorf("account doctor after apply: %v %v", f, err)
	}
	// The guide's Q3: a CodeDeploy role without S3 reads, found in the account.
	n := NamesFor(s)
	weak := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:*","elasticloadbalancing:*","iam:PassRole"],"Resource":"*"}]}`
	if _, err := c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(n.CodeDeployRole), PolicyName: aws.String(PolicyName), PolicyDocument: aws.String(weak)}); err != nil {
		t.Fatal(err)
	}
	f, err := DiagnoseAccount(ctx, c, s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range f {
		got = append(got, x.String())
	}
	all := strings.Join(got, "\n")
	if !strings.Contains(all, "[codedeploy-role] may not s3:GetObject") || !strings.Contains(all, "[drift] would update (policy differ)") {
		t.Errorf("account doctor on a weakened role:\n%s", all)
	}
	if err := p2.Apply(ctx); err != nil {
		t.Fatal(err)
	}

	// Deploy a new image through CodeDeploy, look at it, approve and stop it.
	d, err := NewDeployer(c, s)
	if err != nil {
		t.Fatal(err)
	}
	image := "123456789012.dkr.ecr.us-west-2.amazonaws.com/hello:v1.2.3"
	id, err := d.Deploy(ctx, image, "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if latest, err := d.Latest(ctx); err != nil || latest != id {
		t.Errorf("latest = %q, %v; want %s", latest, err, id)
	}
	st, err := d.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var sb bytes.Buffer
	watchview.Render(&sb, st, nil, 0)
	t.Logf("status:\n%s", sb.String())
	for _, want := range []string{"Deployment " + id + "  service hello  revision 2  status ", "Traffic  blue 100.0% ", "  0.0% green",
		"  blue  hello-blue ", "  green hello-green ", "Alarms: "} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, sb.String())
		}
	}
	// moto has no ContinueDeployment / StopDeployment: the proxy checks
	// these requests against CodeDeploy's service model.
	if err := d.Approve(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	if c := mp.called("StopDeployment"); len(c) != 1 || c[0].Body["deploymentId"] != id || c[0].Body["autoRollbackEnabled"] != true {
		t.Errorf("StopDeployment calls: %+v", c)
	}
	if c := mp.called("ContinueDeployment"); len(c) != 1 || c[0].Body["deploymentWaitType"] != "READY_WAIT" {
		t.Errorf("ContinueDeployment calls: %+v", c)
	}
	// rollback of a deployment in flight: stop it with rollback.
	mp.script = map[string][]string{"GetDeployment": {`{"deploymentInfo":{"deploymentId":"` + id + `","status":"InProgress"}}`}}
	rb, err := d.Rollback(ctx)
	if c := mp.called("StopDeployment"); err != nil || rb.Stopped != id || len(c) != 2 || c[1].Body["autoRollbackEnabled"] != true {
		t.Errorf("rollback in flight = %+v, %v; StopDeployment calls %+v", rb, err, c)
	}
	// rollback once it succeeded (CodeDeploy made hello:2 primary, which
	// moto does not do by itself): a new all-at-once deployment of hello:1.
	mp.script = map[string][]string{"GetDeployment": {`{"deploymentInfo":{"deploymentId":"` + id + `","status":"Succeeded"}}`}}
	if _, err := c.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("hello"), Service: aws.String("hello"), TaskDefinition: aws.String("hello:2")}); err != nil {
		t.Fatal(err)
	}
	rb, err = d.Rollback(ctx)
	if err != nil || rb.Stopped != "" || !strings.HasSuffix(rb.PreviousTaskDefinition, "task-definition/hello:1") || rb.Deployment == "" {
		t.Fatalf("rollback after success = %+v, %v", rb, err)
	}
	mp.script = nil
	rbDep, err := c.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(rb.Deployment)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg := aws.ToString(rbDep.DeploymentInfo.DeploymentConfigName); cfg != "CodeDeployDefault.ECSAllAtOnce" {
		t.Errorf("rollback deployment config %q, want CodeDeployDefault.ECSAllAtOnce", cfg)
	}
	if app := aws.ToString(rbDep.DeploymentInfo.Revision.AppSpecContent.Content); !strings.Contains(app, "task-definition/hello:1") {
		t.Errorf("rollback AppSpec does not name hello:1:\n%s", app)
	}

	out.Reset()
	p3, _ := NewProvisioner(c, s, ProvisionOptions{Out: &out})
	if err := p3.Destroy(ctx); err != nil {
		t.Fatalf("destroy: %v\n%s", err, out.String())
	}
	t.Logf("destroy:\n%s", out.String())
	if n := len(mp.conns.calls); n != 0 {
		t.Errorf("with --connection-arn, %d CodeStar Connections calls; want none", n)
	}
	if len(mp.called("DeleteDeploymentGroup")) != 1 || len(mp.called("DeleteApplication")) != 1 {
		t.Errorf("CodeDeploy deletes checked against the model: %+v", mp.calls)
	}
	// Everything moto can delete is gone: a new plan creates it again.
	p4, _ := NewProvisioner(c, s, ProvisionOptions{})
	plan, err = p4.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range plan.Items {
		gone := it.Change == ChangeCreate
		shimmed := it.Kind == "codedeploy application" || it.Kind == "deployment group" // moto cannot delete these
		if !gone && !shimmed && it.Kind != "network" && it.Kind != "github connection" {
			t.Errorf("after destroy: %s", it)
		}
	}
}

// TestProvisionECSNativeAgainstMoto applies the ECS-controller variant:
// listener rules for ECS to shift, the infrastructure role, a service with
// the CANARY strategy, and an ECS deploy action in the pipeline.
func TestProvisionECSNativeAgainstMoto(t *testing.T) {
	srv, mp := newMotoProxy(t, startMoto(t))
	c := motoClients(t, srv.URL)
	ctx := context.Background()
	s := testSpec()
	s.Service = "canary"
	s.Controller = ControllerECS
	var out bytes.Buffer
	p, err := NewProvisioner(c, s, ProvisionOptions{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(ctx); err != nil {
		t.Fatalf("apply: %v\n%s", err, out.String())
	}
	for _, want := range []string{"create listener rule production /*", "create iam role canary-ecs-infrastructure", "create ecs service canary"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("apply did not %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "deployment group") {
		t.Errorf("ECS mode created CodeDeploy resources:\n%s", out.String())
	}
	p2, _ := NewProvisioner(c, s, ProvisionOptions{})
	plan, err := p2.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Changes() != 0 {
		var b bytes.Buffer
		plan.Write(&b)
		t.Errorf("second plan:\n%s", b.String())
	}
	if l := p2.Live(); l.ProductionRuleARN == "" || l.TestRuleARN == "" {
		t.Errorf("rules not read back: %+v", l)
	}
	testECSNativeDeployments(t, c, mp, s)
	out.Reset()
	if err := p2.Destroy(ctx); err != nil {
		t.Fatalf("destroy: %v", err)
	}
}

// TestApplyWithoutConnectionStopsWithInstructions: no connection given
// and no wait, apply makes everything up to the connection, creates it,
// prints where to approve it and stops; plan then shows the approval as a
// manual step; once a person approved it the next apply finds it by name
// and creates the pipeline on it. CodeStar Connections is answered by
// connectionsAPI (model-checked; moto lacks it), the rest by moto.
func TestApplyWithoutConnectionStopsWithInstructions(t *testing.T) {
	srv, mp := newMotoProxy(t, startMoto(t))
	c := motoClients(t, srv.URL)
	ctx := context.Background()
	s := testSpec()
	s.Service = "noconn"
	s.ConnectionARN = ""
	var out bytes.Buffer
	p, _ := NewProvisioner(c, s, ProvisionOptions{Out: &out})
	err := p.Apply(ctx)
	if !errors.Is(err, ErrManualStep) {
		t.Fatalf("apply = %v\n%s", err, out.String())
	}
	arn := p.Live().ConnectionARN
	url := ConnectionConsoleURL("us-west-2", "123456789012", arn)
	for _, want := range []string{"create codebuild project", "create github connection noconn-github", "open " + url,
		"Update pending connection", "run canaryflow aws apply again", "--wait-connection", "--connection-arn " + arn} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("apply output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "create codepipeline") {
		t.Errorf("apply went past the unapproved connection:\n%s", out.String())
	}
	p2, _ := NewProvisioner(c, s, ProvisionOptions{})
	plan, err := p2.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	manual := plan.Items[len(plan.Items)-2]
	if manual.Change != ChangeManual || manual.Detail != "waits for approval at "+url {
		t.Errorf("plan item = %v", manual)
	}
	mp.conns.approve()
	out.Reset()
	p3, _ := NewProvisioner(c, s, ProvisionOptions{Out: &out})
	if err := p3.Apply(ctx); err != nil {
		t.Fatalf("apply after approval: %v\n%s", err, out.String())
	}
	if n := len(mp.conns.called("CreateConnection")); n != 1 || !strings.Contains(out.String(), "create codepipeline noconn") {
		t.Errorf("apply after approval: %d connections created\n%s", n, out.String())
	}
	if got := p3.b.pipeline().Pipeline.Stages[0].Actions[0].Configuration["ConnectionArn"]; got != arn {
		t.Errorf("pipeline uses connection %q, want %s", got, arn)
	}
	if plan, err := p3.Plan(ctx); err != nil || plan.Changes() != 0 {
		var b bytes.Buffer
		plan.Write(&b)
		t.Errorf("plan after apply: %v\n%s", err, b.String())
	}
	if err := p3.Destroy(ctx); err != nil || len(mp.conns.called("DeleteConnection")) != 1 {
		t.Errorf("destroy = %v; DeleteConnection calls %+v", err, mp.conns.called("DeleteConnection"))
	}
}

// fakeClock fires every After at once and counts the waits.
type fakeClock struct{ waits int }

func (c *fakeClock) Now() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
func (c *fakeClock) After(time.Duration) <-chan time.Time {
	c.waits++
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}

// TestWatchFollowsADeployment: moto's CodeDeploy never moves a deployment
// on (it runs no task sets), so the answers of GetDeployment,
// ListDeploymentTargets and BatchGetDeploymentTargets are scripted here;
// the service and the production listener's weights come from moto.
func TestWatchFollowsADeployment(t *testing.T) {
	srv, mp := newMotoProxy(t, startMoto(t))
	c := motoClients(t, srv.URL)
	ctx := context.Background()
	s := testSpec()
	s.Service = "watch"
	p, _ := NewProvisioner(c, s, ProvisionOptions{})
	if err := p.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	dep := func(status string) string {
		return `{"deploymentInfo":{"deploymentId":"d-TEST","status":"` + status + `"}}`
	}
	events := func(install, traffic string) string {
		return `{"deploymentTargets":[{"deploymentTargetType":"ECSTarget","ecsTarget":{"deploymentId":"d-TEST","lifecycleEvents":[` +
			`{"lifecycleEventName":"Install","status":"` + install + `"},{"lifecycleEventName":"AllowTraffic","status":"` + traffic + `"}]}}]}`
	}
	mp.script = map[string][]string{
		"GetDeployment":             {dep("InProgress"), dep("InProgress"), dep("InProgress"), dep("Succeeded")},
		"ListDeploymentTargets":     {`{"targetIds":["hello:hello"]}`},
		"BatchGetDeploymentTargets": {events("InProgress", "Pending"), events("Succeeded", "Pending"), events("Succeeded", "InProgress"), events("Succeeded", "Succeeded")},
	}
	d, _ := NewDeployer(c, s)
	var out bytes.Buffer
	clock := &fakeClock{}
	if err := d.Watch(ctx, "d-TEST", &out, watchview.Options{Interval: time.Second, Clock: clock}); err != nil {
		t.Fatalf("watch: %v\n%s", err, out.String())
	}
	want := []string{
		"03:04:05 d-TEST InProgress step=Install green=0% alarm=OK\n",
		"03:04:05 d-TEST InProgress step=AllowTraffic green=0% alarm=OK\n",
		"03:04:05 d-TEST Succeeded step=AllowTraffic green=0% alarm=OK\n",
		"Deployment d-TEST  service watch  revision 0  status Succeeded\n",
		"Traffic  blue 100.0% ",
		"  blue  watch-blue ", "  green watch-green ",
		"Alarms: OK\n",
		"  Install       Succeeded",
		"  AllowTraffic  Succeeded",
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("watch output lacks %q:\n%s", w, out.String())
		}
	}
	if clock.waits != 3 {
		t.Errorf("watch waited %d times, want 3", clock.waits)
	}
	mp.script = map[string][]string{"GetDeployment": {`{"deploymentInfo":{"deploymentId":"d-TEST","status":"Stopped","errorInformation":{"code":"ALARM_ACTIVE","message":"watch-green-5xx"},"rollbackInfo":{"rollbackDeploymentId":"d-BACK"}}}`}}
	if _, err := c.CloudWatch.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("watch-green-5xx"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("green 5xx at 12%")}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := d.Watch(ctx, "d-TEST", &out, watchview.Options{Interval: time.Second, Clock: clock})
	var ns *watchview.NotSucceededError
	if !errors.As(err, &ns) || err.Error() != "deployment d-TEST stopped" {
		t.Errorf("watch of a stopped deployment = %v", err)
	}
	for _, w := range []string{"alarm=ALARM error=ALARM_ACTIVE", "Alarms: ALARM watch-green-5xx: green 5xx at 12%", "Error: ALARM_ACTIVE: watch-green-5xx", "Rolled back: all production traffic is on blue"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("watch of a stopped deployment lacks %q:\n%s", w, out.String())
		}
	}
	// Mid-canary: CodeDeploy has moved 10% of production to green's target
	// group (done here on moto's listener) and the service has two task
	// sets (scripted: moto runs none for a CODE_DEPLOY service).
	l := p.Live()
	if _, err := c.ELB.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(l.ProductionListenerARN), DefaultActions: []elbtypes.Action{{
		Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
			{TargetGroupArn: aws.String(l.BlueTargetGroupARN), Weight: aws.Int32(90)}, {TargetGroupArn: aws.String(l.GreenTargetGroupARN), Weight: aws.Int32(10)}}}}}}); err != nil {
		t.Fatal(err)
	}
	set := func(id, status, td string, running int, tg string) string {
		return fmt.Sprintf(`{"id":%q,"status":%q,"taskDefinition":"arn:aws:ecs:us-west-2:123456789012:task-definition/%s","runningCount":%d,"computedDesiredCount":2,"loadBalancers":[{"targetGroupArn":%q}]}`, id, status, td, running, tg)
	}
	mp.script = map[string][]string{
		"GetDeployment":             {dep("InProgress")},
		"ListDeploymentTargets":     {`{"targetIds":["hello:hello"]}`},
		"BatchGetDeploymentTargets": {events("Succeeded", "InProgress")},
		"DescribeServices":          {`{"services":[{"serviceName":"watch","taskSets":[` + set("ecs-svc/111", "PRIMARY", "watch:1", 2, l.BlueTargetGroupARN) + "," + set("ecs-svc/222", "ACTIVE", "watch:2", 1, l.GreenTargetGroupARN) + `]}]}`},
	}
	st, err := d.Status(ctx, "d-TEST")
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	watchview.Render(&out, st, nil, 0)
	for _, w := range []string{"Rollback target: revision 1 (task set ecs-svc/111)",
		"Traffic  blue  90.0% " + strings.Repeat("█", 36) + strings.Repeat("░", 4) + "  10.0% green",
		"  blue  ecs-svc/111 (watch-blue) 2/2 tasks running, 0 healthy",
		"  green ecs-svc/222 (watch-green) 1/2 tasks running, 0 healthy"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("mid-canary status lacks %q:\n%s", w, out.String())
		}
	}
	if line := watchview.Summary(st); line != "d-TEST InProgress step=AllowTraffic green=10% alarm=ALARM" {
		t.Errorf("mid-canary summary %q", line)
	}
}

// testECSNativeDeployments drives ECS-controller deployments: UpdateService
// goes to moto; ECS's service deployment operations, which moto 5.2.1
// lacks, are checked against ECS's service model by the proxy and
// answered from a script that plays a canary going through.
func testECSNativeDeployments(t *testing.T, c *Clients, mp *motoProxy, s Spec) {
	t.Helper()
	ctx := context.Background()
	const sdARN = "arn:aws:ecs:us-west-2:123456789012:service-deployment/canary/canary/0aaa1bbb2ccc"
	const rev2, rev1 = "arn:aws:ecs:us-west-2:123456789012:service-revision/canary/canary/222", "arn:aws:ecs:us-west-2:123456789012:service-revision/canary/canary/111"
	look := func(status, stage string, weight int, extra string) string {
		return fmt.Sprintf(`{"serviceDeployments":[{"serviceDeploymentArn":%q,"status":%q,"lifecycleStage":%q,"startedAt":1767322000,`+
			`"targetServiceRevision":{"arn":%q,"requestedProductionTrafficWeight":%d,"runningTaskCount":1,"requestedTaskCount":1},`+
			`"sourceServiceRevisions":[{"arn":%q,"runningTaskCount":1,"requestedTaskCount":1}]%s}]}`, sdARN, status, stage, rev2, weight, rev1, extra)
	}
	mp.script = map[string][]string{
		// created a second after UpdateService by fakeClock (03:04:05)
		"ListServiceDeployments": {`{"serviceDeployments":[{"serviceDeploymentArn":"` + sdARN + `","status":"IN_PROGRESS","createdAt":1767323046,"targetServiceRevisionArn":"` + rev2 + `"}]}`},
		"DescribeServiceDeployments": {look("IN_PROGRESS", "SCALE_UP", 0, ""), look("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10, ""),
			look("IN_PROGRESS", "BAKE_TIME", 10, ""), look("SUCCESSFUL", "CLEAN_UP", 100, "")},
		"DescribeServiceRevisions": {`{"serviceRevisions":[{"serviceRevisionArn":"` + rev2 + `","taskDefinition":"arn:aws:ecs:us-west-2:123456789012:task-definition/canary:2"},` +
			`{"serviceRevisionArn":"` + rev1 + `","taskDefinition":"arn:aws:ecs:us-west-2:123456789012:task-definition/canary:1"}]}`},
	}
	d, _ := NewDeployer(c, s)
	d.SetClock(&fakeClock{})
	id, err := d.Deploy(ctx, "123456789012.dkr.ecr.us-west-2.amazonaws.com/hello:v2.0.0", "v2.0.0")
	if err != nil || id != sdARN {
		t.Fatalf("ECS deploy = %q, %v; want the service deployment %s", id, err, sdARN)
	}
	svc, err := c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("canary"), Services: []string{"canary"}})
	if err != nil || !strings.HasSuffix(aws.ToString(svc.Services[0].TaskDefinition), "task-definition/canary:2") {
		t.Errorf("service runs %v (%v), want canary:2", aws.ToString(svc.Services[0].TaskDefinition), err)
	}
	var out bytes.Buffer
	clock := &fakeClock{}
	if err := d.Watch(ctx, id, &out, watchview.Options{Interval: time.Second, Clock: clock}); err != nil {
		t.Fatalf("watch: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"03:04:05 " + sdARN + " IN_PROGRESS step=SCALE_UP green=0% alarm=OK\n",
		"03:04:05 " + sdARN + " IN_PROGRESS step=PRODUCTION_TRAFFIC_SHIFT green=10% alarm=OK\n",
		"03:04:05 " + sdARN + " IN_PROGRESS step=BAKE_TIME green=10% alarm=OK\n",
		"03:04:05 " + sdARN + " SUCCESSFUL step=CLEAN_UP green=100% alarm=OK\n",
		"Deployment " + sdARN + "  service canary  revision 2  status SUCCESSFUL\n",
		"Rollback target: revision 1",
		"Traffic  blue   0.0% " + strings.Repeat("░", 40) + " 100.0% green",
		"  CLEAN_UP  SUCCESSFUL",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("ECS watch lacks %q:\n%s", want, out.String())
		}
	}
	if c := mp.called("DescribeServiceDeployments"); len(c) != 4 || fmt.Sprint(c[0].Body["serviceDeploymentArns"]) != "["+sdARN+"]" {
		t.Errorf("DescribeServiceDeployments calls: %+v", c)
	}
	// approve continues the lifecycle hook that awaits an action.
	mp.script["DescribeServiceDeployments"] = []string{look("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", 0, `,"lifecycleHookDetails":[{"hookId":"hook-1","status":"AWAITING_ACTION"}]`)}
	if err := d.Approve(ctx, id); err != nil {
		t.Fatal(err)
	}
	if c := mp.called("ContinueServiceDeployment"); len(c) != 1 || c[0].Body["hookId"] != "hook-1" || c[0].Body["action"] != "CONTINUE" {
		t.Errorf("ContinueServiceDeployment calls: %+v", c)
	}
	// stop is a rollback; ECS has no stop that leaves traffic where it is.
	if err := d.Stop(ctx, id, false); !errors.Is(err, ErrUnsupported) {
		t.Errorf("stop --no-rollback = %v", err)
	}
	rb, err := d.Rollback(ctx)
	if c := mp.called("StopServiceDeployment"); err != nil || rb.Stopped != id || len(c) != 1 || c[0].Body["stopType"] != "ROLLBACK" {
		t.Errorf("rollback in flight = %+v, %v; StopServiceDeployment calls %+v", rb, err, c)
	}
	// once it succeeded, rollback deploys canary:1 again: ECS lists the
	// service deployment of canary:2 (for Latest), then the new one.
	const sdBack = "arn:aws:ecs:us-west-2:123456789012:service-deployment/canary/canary/3ddd4eee5fff"
	mp.script["DescribeServiceDeployments"] = []string{look("SUCCESSFUL", "CLEAN_UP", 100, "")}
	mp.script["ListServiceDeployments"] = []string{mp.script["ListServiceDeployments"][0],
		`{"serviceDeployments":[{"serviceDeploymentArn":"` + sdARN + `","status":"SUCCESSFUL","createdAt":1767323046,"targetServiceRevisionArn":"` + rev2 + `"},` +
			`{"serviceDeploymentArn":"` + sdBack + `","status":"PENDING","createdAt":1767323047,"targetServiceRevisionArn":"` + rev1 + `"}]}`}
	rb, err = d.Rollback(ctx)
	if err != nil || !strings.HasSuffix(rb.PreviousTaskDefinition, "task-definition/canary:1") || rb.Deployment != sdBack {
		t.Fatalf("rollback after success = %+v, %v; want deployment %s", rb, err, sdBack)
	}
	svc, err = c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("canary"), Services: []string{"canary"}})
	if err != nil || !strings.HasSuffix(aws.ToString(svc.Services[0].TaskDefinition), "task-definition/canary:1") {
		t.Errorf("after rollback the service runs %v (%v), want canary:1", aws.ToString(svc.Services[0].TaskDefinition), err)
	}
	mp.script = nil
}
