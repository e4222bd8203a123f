package aws_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	awsbackend "github.com/canaryflow/canaryflow/internal/aws"
	"github.com/canaryflow/canaryflow/internal/cli"
)

// TestCLIAgainstMoto runs the canaryflow aws commands as a user does,
// against moto_server through AWS_ENDPOINT_URL: plan, apply asking first
// (no changes on "n"), apply --yes, plan with no changes, deploy, status,
// rollback, destroy (which keeps what canaryflow did not create). moto has no CodeStar Connections, so it passes
// --connection-arn (and checks apply creates none); StopDeployment, which
// rollback calls and moto lacks, is checked against CodeDeploy's model.
func TestCLIAgainstMoto(t *testing.T) {
	calls := awsbackend.MotoForCLITest(t)
	dir := t.TempDir()
	yaml := "service:\n  name: clitest\n  container: {name: web, port: 3000}\naws:\n  region: us-west-2\n"
	if err := os.WriteFile(filepath.Join(dir, "canaryflow.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	const conn = "arn:aws:codestar-connections:us-west-2:123456789012:connection/0f4c2a1b-1111-2222-3333-444455556666"
	run := func(stdin string, args ...string) (string, int) {
		t.Helper()
		var out bytes.Buffer
		args = append([]string{"--chdir", dir, "aws"}, args...)
		args = append(args, "--connection-arn", conn, "--github-repo", "acme/clitest")
		code := cli.Run(context.Background(), args, strings.NewReader(stdin), &out, &out)
		return out.String(), code
	}
	out, code := run("", "plan")
	if code != 0 || !strings.Contains(out, "create    ecs service            clitest") {
		t.Fatalf("plan = %d\n%s", code, out)
	}
	out, code = run("n\n", "apply")
	if code != 1 || !strings.Contains(out, "Apply these changes? [y/N]") || !strings.Contains(out, "apply cancelled: nothing was changed") {
		t.Fatalf("apply answered n = %d\n%s", code, out)
	}
	if out, _ := run("", "plan"); !strings.Contains(out, "create    ecs cluster") {
		t.Fatalf("apply answered n changed something:\n%s", out)
	}
	// A cluster with the service's name that canaryflow did not create:
	// apply uses it, destroy keeps it.
	c, err := awsbackend.NewClients(context.Background(), awsbackend.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ECS.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: aws.String("clitest")}); err != nil {
		t.Fatal(err)
	}
	out, code = run("", "apply", "--yes", "--image", "123456789012.dkr.ecr.us-west-2.amazonaws.com/clitest:v1.0.0")
	if code != 0 || strings.Contains(out, "[y/N]") || !regexp.MustCompile(`\[ ?\d+/\d+\] create codepipeline clitest`).MatchString(out) {
		t.Fatalf("apply --yes = %d\n%s", code, out)
	}
	if n := calls("CreateConnection"); n != 0 {
		t.Errorf("apply with --connection-arn created %d connections", n)
	}
	out, code = run("", "plan")
	if code != 0 || !strings.Contains(out, "No changes") {
		t.Fatalf("plan after apply = %d\n%s", code, out)
	}
	out, code = run("", "deploy", "--image", "123456789012.dkr.ecr.us-west-2.amazonaws.com/clitest:v1.1.0")
	id := regexp.MustCompile(`Deployment (\S+) started\.`).FindStringSubmatch(out)
	if code != 0 || id == nil {
		t.Fatalf("deploy = %d\n%s", code, out)
	}
	out, code = run("", "status")
	if code != 0 || !strings.Contains(out, "Deployment "+id[1]+"  service clitest  revision 2") || !strings.Contains(out, "Traffic  blue 100.0%") {
		t.Fatalf("status = %d\n%s", code, out)
	}
	out, code = run("", "rollback")
	if code != 0 || !strings.Contains(out, "Deployment "+id[1]+" was in flight: it is stopping with rollback.") || calls("StopDeployment") != 1 {
		t.Fatalf("rollback = %d (%d StopDeployment)\n%s", code, calls("StopDeployment"), out)
	}
	out, code = run("", "destroy", "--yes")
	if code != 0 || !strings.Contains(out, "delete ecs service clitest") || !strings.Contains(out, "keep   github connection "+conn) ||
		!strings.Contains(out, "keep   ecs cluster clitest (not created by canaryflow)") || !strings.Contains(out, "delete codepipeline clitest") {
		t.Fatalf("destroy = %d\n%s", code, out)
	}
}
