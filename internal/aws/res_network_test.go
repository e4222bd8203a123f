package aws

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestALBIngressAgainstMoto: apply opens the test listener's port only to
// aws.test_listener_cidrs (none by default), and brings a group opened
// wider by hand or by an older canaryflow back to that.
func TestALBIngressAgainstMoto(t *testing.T) {
	srv, _ := newMotoProxy(t, startMoto(t))
	c := motoClients(t, srv.URL)
	ctx := context.Background()
	s := testSpec()
	s.Service = "ingress" // its own resources in the shared moto server
	apply := func(s Spec) *Provisioner {
		t.Helper()
		var out bytes.Buffer
		p, err := NewProvisioner(c, s, ProvisionOptions{Out: &out})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Apply(ctx); err != nil {
			t.Fatalf("apply: %v\n%s", err, out.String())
		}
		return p
	}
	ingress := func(p *Provisioner) (string, []string) {
		t.Helper()
		id := p.Live().ALBSecurityGroups[0]
		out, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		var rules []string
		for _, r := range ingressRules(out.SecurityGroups[0].IpPermissions) {
			rules = append(rules, r.String())
		}
		return id, rules
	}
	p := apply(s)
	id, rules := ingress(p)
	if !slices.Equal(rules, []string{"80 0.0.0.0/0"}) {
		t.Fatalf("default ingress %v: want only the production port open", rules)
	}

	// The test port opened to the internet, as canaryflow did before:
	// plan shows the drift and apply revokes it.
	if _, err := c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		t.Fatal(err)
	}
	fresh, _ := NewProvisioner(c, s, ProvisionOptions{})
	plan, err := fresh.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	plan.Write(&b)
	if sg := planItem(plan, "security group", "ingress-alb"); sg.Change != ChangeUpdate || !strings.Contains(sg.Detail, "ingress") {
		t.Fatalf("plan with the test port open to the internet:\n%s", b.String())
	}
	// The account doctor reports it as drift.
	findings, err := DiagnoseAccount(ctx, c, s)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, f := range findings {
		all = append(all, f.String())
	}
	if !strings.Contains(strings.Join(all, "\n"), "ingress-alb") || !strings.Contains(strings.Join(all, "\n"), "ingress differ") {
		t.Errorf("account doctor with the test port open to the internet:\n%s", strings.Join(all, "\n"))
	}
	if _, rules = ingress(apply(s)); !slices.Equal(rules, []string{"80 0.0.0.0/0"}) {
		t.Fatalf("after apply: %v, want the test port closed again", rules)
	}

	// Opt in: the test port opens to the given networks only.
	s.TestListenerCIDRs = []string{"203.0.113.0/24", "198.51.100.0/24"}
	if _, rules = ingress(apply(s)); !slices.Equal(rules, []string{"80 0.0.0.0/0", "8080 198.51.100.0/24", "8080 203.0.113.0/24"}) {
		t.Fatalf("opt-in ingress %v", rules)
	}
	fresh, _ = NewProvisioner(c, s, ProvisionOptions{})
	if plan, err = fresh.Plan(ctx); err != nil || planItem(plan, "security group", "ingress-alb").Change != ChangeNone {
		t.Fatalf("plan after the opt-in apply: %v %v", err, plan.Items)
	}
}

// planItem is the plan's line for one resource.
func planItem(p *Plan, kind, name string) PlanItem {
	for _, it := range p.Items {
		if it.Kind == kind && it.Name == name {
			return it
		}
	}
	return PlanItem{}
}
