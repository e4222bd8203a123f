package aws

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// TestClientsFollowTheProfile: a profile from the shared config files
// (named by AWS_PROFILE or the option) gives the region, the endpoint and
// the credentials, as it does for every AWS SDK; moto answers as STS.
func TestClientsFollowTheProfile(t *testing.T) {
	srv, _ := newMotoProxy(t, startMoto(t))
	dir := t.TempDir()
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	os.WriteFile(cfg, []byte("[profile team]\nregion = eu-central-1\nendpoint_url = "+srv.URL+"\n"), 0o600)
	os.WriteFile(creds, []byte("[team]\naws_access_key_id = testing\naws_secret_access_key = testing\n"), 0o600)
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		env     string
		profile string
	}{{"option", "", "team"}, {"AWS_PROFILE", "team", ""}} {
		if tc.env != "" {
			t.Setenv("AWS_PROFILE", tc.env)
		}
		c, err := NewClients(ctx, ClientOptions{Profile: tc.profile})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		acct, err := c.Account(ctx)
		if c.Region() != "eu-central-1" || acct != "123456789012" || err != nil {
			t.Errorf("%s: region %q, account %q, %v", tc.name, c.Region(), acct, err)
		}
	}
}

// TestGivenNetworkIsUsed: with aws.subnets and aws.security_groups given,
// apply looks the VPC up from the subnets, creates no security group, and
// the service runs in exactly those.
func TestGivenNetworkIsUsed(t *testing.T) {
	srv, _ := newMotoProxy(t, startMoto(t))
	c := motoClients(t, srv.URL)
	ctx := context.Background()
	vpc, subnets, sg := motoNetwork(t, c)
	s := testSpec()
	s.Service = "ownnet"
	s.Subnets, s.SecurityGroups = subnets, []string{sg}
	p, err := NewProvisioner(c, s, ProvisionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range plan.Items {
		if it.Kind == "security group" {
			t.Errorf("plan with given security groups: %s", it)
		}
	}
	if plan.Items[0].Kind != "network" || plan.Items[0].Name != subnets[0]+","+subnets[1] || p.Live().VPC != vpc {
		t.Errorf("network item %s, VPC %q; want the given subnets in %s", plan.Items[0], p.Live().VPC, vpc)
	}
	b, err := Render(s, p.Live())
	if err != nil {
		t.Fatal(err)
	}
	svc := fileOf(t, b, "aws/service-definition.json")
	if got := svc.str("networkConfiguration.awsvpcConfiguration.securityGroups[0]"); got != sg {
		t.Errorf("service security group %q, want %s", got, sg)
	}
	if got := svc.str("networkConfiguration.awsvpcConfiguration.subnets[1]"); got != subnets[1] {
		t.Errorf("service subnet %q, want %s", got, subnets[1])
	}
}

// motoNetwork makes a VPC with two subnets in different zones and a
// security group, as a team that brings its own network has.
func motoNetwork(t *testing.T, c *Clients) (vpc string, subnets []string, sg string) {
	t.Helper()
	ctx := context.Background()
	v, err := c.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpc = aws.ToString(v.Vpc.VpcId)
	for i, az := range []string{"us-west-2a", "us-west-2b"} {
		sn, err := c.EC2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String(fmt.Sprintf("10.20.%d.0/24", i)), AvailabilityZone: aws.String(az)})
		if err != nil {
			t.Fatal(err)
		}
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	g, err := c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("own-tasks"), Description: aws.String("the team's own"), VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	return vpc, subnets, aws.ToString(g.GroupId)
}
