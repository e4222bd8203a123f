package aws

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

func testSpec() Spec {
	return Spec{
		Service: "hello", Container: "web", Port: 3000, Region: "us-west-2", Account: "123456789012",
		Env:           map[string]string{"VERSION": "1.2.3", "LOG_LEVEL": "info"},
		GitHubRepo:    "acme/hello",
		ConnectionARN: "arn:aws:codestar-connections:us-west-2:123456789012:connection/0f4c2a1b-1111-2222-3333-444455556666",
		PublicIP:      true,
		Alarms:        Alarms{P99Latency: time.Second},
	}
}

func testLive() Live {
	lb := "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/hello/50dc6c495c0c9188"
	return Live{
		VPC: "vpc-0a1b2c3d", Subnets: []string{"subnet-0a1b2c3d", "subnet-4e5f6a7b"},
		ALBSecurityGroups: []string{"sg-0a1b2c3d"}, TaskSecurityGroups: []string{"sg-4e5f6a7b"},
		LoadBalancerARN:       lb,
		ProductionListenerARN: "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/hello/50dc6c495c0c9188/f2f7dc8efc522ab2",
		TestListenerARN:       "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/hello/50dc6c495c0c9188/0467ef3c8400ae65",
		ProductionRuleARN:     "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/hello/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee",
		TestRuleARN:           "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/hello/50dc6c495c0c9188/0467ef3c8400ae65/1f2e3d4c5b6a7980",
		BlueTargetGroupARN:    "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/hello-blue/73e2d6bc24d8a067",
		GreenTargetGroupARN:   "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/hello-green/2453ed029918f21f",
	}
}

// renderVariants are the specs every document test covers.
func renderVariants() map[string]Spec {
	cd := testSpec()
	ecsCanary := testSpec()
	ecsCanary.Controller = ControllerECS
	linear := testSpec()
	linear.DeploymentConfig = ""
	linear.Routing = awsfmt.TrafficRouting{Type: awsfmt.TimeBasedLinear, Percent: 20, Interval: 2 * time.Minute}
	linear.ReadyWait = 30 * time.Minute
	linear.Controller = ControllerCodeDeploy
	ecsLinear := linear
	ecsLinear.Controller = ControllerECS
	bare := Spec{Service: "svc", Region: "eu-central-1", Account: "210987654321"}
	return map[string]Spec{"codedeploy": cd, "ecs-canary": ecsCanary, "codedeploy-linear": linear, "ecs-linear": ecsLinear, "bare": bare}
}

func renderTo(t *testing.T, s Spec, live Live) (string, *Bundle) {
	t.Helper()
	b, err := Render(s, live)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir, b
}

// awsCLIPython finds the Python that runs the installed AWS CLI.
func awsCLIPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"python3", "python"} {
		if exec.Command(py, "-c", "import awscli.clidriver").Run() == nil {
			return py
		}
	}
	t.Fatal("no python with the awscli package: install the AWS CLI (pip install awscli)")
	return ""
}

type cliResult struct {
	RC     int    `json:"rc"`
	Stderr string `json:"stderr"`
}

// runAWSCLI runs each argv through the AWS CLI's driver in one Python
// process against an endpoint that refuses connections.
func runAWSCLI(t *testing.T, dir string, cmds [][]string) []cliResult {
	t.Helper()
	for i := range cmds {
		cmds[i] = append(cmds[i], "--region", "us-west-2", "--endpoint-url", "http://127.0.0.1:1")
	}
	in, _ := json.Marshal(cmds)
	script, _ := filepath.Abs("testdata/cli_validate.py")
	cmd := exec.Command(awsCLIPython(t), script)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1",
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"), "HOME="+home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cli_validate.py: %v\n%s", err, stderr.String())
	}
	var res []cliResult
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var r cliResult
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		res = append(res, r)
	}
	if len(res) != len(cmds) {
		t.Fatalf("%d results for %d commands", len(res), len(cmds))
	}
	return res
}

// accepted reports whether the CLI got as far as connecting.
func accepted(r cliResult) bool {
	return strings.Contains(r.Stderr, "Could not connect to the endpoint URL") &&
		!strings.Contains(r.Stderr, "Parameter validation failed") && !strings.Contains(r.Stderr, "Unknown parameter")
}

// TestRenderPassesAWSCLIValidation feeds every rendered JSON document to
// the AWS CLI command that takes it. The CLI validates --cli-input-json
// (and file:// policy documents) against the service model before it
// connects, so a document it accepts reaches the (unreachable) endpoint.
func TestRenderPassesAWSCLIValidation(t *testing.T) {
	dir := t.TempDir()
	var cmds [][]string
	var names []string
	for name, s := range renderVariants() {
		for _, withLive := range []bool{false, true} {
			live := Live{}
			if withLive {
				live = testLive()
			}
			b, err := Render(s, live)
			if err != nil {
				t.Fatal(err)
			}
			sub := filepath.Join(dir, name+map[bool]string{false: "-offline", true: "-live"}[withLive])
			if err := b.Write(sub); err != nil {
				t.Fatal(err)
			}
			for _, f := range b.Files {
				if len(f.CLI) == 0 {
					continue
				}
				argv := append([]string(nil), f.CLI...)
				for i, a := range argv {
					argv[i] = strings.ReplaceAll(a, "FILE", filepath.Join(sub, f.Path))
				}
				cmds = append(cmds, argv)
				names = append(names, filepath.Base(sub)+"/"+f.Path)
			}
		}
	}
	// A control: a document the CLI must reject, so a broken harness cannot pass.
	bad := filepath.Join(dir, "bad-taskdef.json")
	os.WriteFile(bad, []byte(`{"family":"x","containerDefinitions":[{"name":"a","image":"i","portMappings":[{"containerPort":"80"}]}],"cpuu":"256"}`), 0o644)
	cmds = append(cmds, []string{"ecs", "register-task-definition", "--cli-input-json", "file://" + bad})
	names = append(names, "control")

	res := runAWSCLI(t, dir, cmds)
	for i, r := range res[:len(res)-1] {
		if !accepted(r) {
			t.Errorf("%s: aws %s rejected it:\n%s", names[i], strings.Join(cmds[i][:2], " "), r.Stderr)
		}
	}
	ctl := res[len(res)-1]
	if accepted(ctl) || !strings.Contains(ctl.Stderr, "Unknown parameter in input: \"cpuu\"") || !strings.Contains(ctl.Stderr, "containerPort") {
		t.Errorf("the control document was not rejected as expected:\n%s", ctl.Stderr)
	}
	t.Logf("%d documents accepted by the AWS CLI", len(res)-1)
}

// TestP99AlarmFollowsTheLocalDefault: without alarms.p99_latency neither a
// local deployment nor AWS has a latency alarm; with it, both do, and the
// deployment group and the ECS service watch exactly the alarms rendered.
func TestP99AlarmFollowsTheLocalDefault(t *testing.T) {
	for _, tc := range []struct {
		p99  time.Duration
		want []string
	}{
		{0, []string{"hello-green-5xx"}},
		{800 * time.Millisecond, []string{"hello-green-5xx", "hello-green-p99"}},
	} {
		s := testSpec()
		s.Alarms.P99Latency = tc.p99
		b := newBlueprint(s, testLive())
		if got := b.alarmNames(); !slices.Equal(got, tc.want) {
			t.Errorf("p99 %v: alarms %v, want %v", tc.p99, got, tc.want)
		}
		var dg []string
		for _, a := range b.deploymentGroup().AlarmConfiguration.Alarms {
			dg = append(dg, aws.ToString(a.Name))
		}
		if !slices.Equal(dg, tc.want) {
			t.Errorf("p99 %v: deployment group watches %v", tc.p99, dg)
		}
		s.Controller = ControllerECS
		if got := newBlueprint(s, testLive()).ecsDeployment().Alarms.AlarmNames; !slices.Equal(got, tc.want) {
			t.Errorf("p99 %v: ECS service watches %v", tc.p99, got)
		}
		if tc.p99 > 0 {
			if th := aws.ToFloat64(b.alarms()[1].Threshold); th != 0.8 {
				t.Errorf("p99 threshold %v s, want 0.8", th)
			}
		}
	}
}
