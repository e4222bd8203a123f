package config

import (
	"errors"
	"strings"
	"testing"
)

func TestAWSSectionDefaults(t *testing.T) {
	c, err := Parse("c.yaml", []byte("aws:\n  region: eu-west-1\n  subnets: [subnet-0123abcd, subnet-4567ef01]\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := c.AWS
	if a.Region != "eu-west-1" || a.Controller != ControllerCodeDeploy || a.CPU != 256 || a.Memory != 512 || a.TagPattern != "v*" {
		t.Errorf("got %+v", a)
	}
	c, err = Parse("c.yaml", []byte("release:\n  tag_prefix: rel-\naws:\n  controller: ECS\n  cpu: 1024\n  memory: 3072\n"))
	if err != nil || c.AWS.TagPattern != "rel-*" || c.AWS.Controller != ControllerECS {
		t.Errorf("got %v %+v", err, c.AWS)
	}
}

func TestAWSSectionErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"region", "aws:\n  region: Oregon\n", "c.yaml:2: aws.region"},
		{"account", "aws:\n  account: 12345\n", "c.yaml:2: aws.account"},
		{"subnet", "aws:\n  subnets:\n    - vpc-1234abcd\n    - subnet-1234abcd\n", "c.yaml:3: aws.subnets[0]"},
		{"one subnet", "aws:\n  subnets: [subnet-1234abcd]\n", "two Availability Zones"},
		{"sg", "aws:\n  security_groups: [subnet-1234abcd]\n", "aws.security_groups[0]"},
		{"connection", "aws:\n  connection_arn: arn:aws:iam::123456789012:role/x\n", "aws.connection_arn"},
		{"repo", "aws:\n  github_repo: just-a-name\n", "c.yaml:2: aws.github_repo"},
		{"controller", "aws:\n  controller: CODEDEPLOY\n", "c.yaml:2: aws.controller"},
		{"cpu", "aws:\n  cpu: 300\n", "cpu 300 is not a Fargate size"},
		{"memory", "aws:\n  cpu: 1024\n  memory: 512\n", "does not go with cpu 1024"},
		{"tag pattern", "aws:\n  tag_pattern: v1\n", "aws.tag_pattern"},
		{"unknown key", "aws:\n  regoin: us-east-1\n", "c.yaml:2"},
		{"cidr", "aws:\n  test_listener_cidrs:\n    - 10.0.0.0/8\n    - 10.0.0.0\n", "c.yaml:4: aws.test_listener_cidrs[1]: \"10.0.0.0\" is not a network in CIDR notation"},
		{"cidr host bits", "aws:\n  test_listener_cidrs: [203.0.113.7/24]\n", "c.yaml:2: aws.test_listener_cidrs[0]: \"203.0.113.7/24\" has host bits set: the network is 203.0.113.0/24"},
		{"cidr junk", "aws:\n  test_listener_cidrs: [\"0.0.0.0/0; rm -rf\"]\n", "aws.test_listener_cidrs[0]"},
		{"cidr zone", "aws:\n  test_listener_cidrs: [\"fe80::%eth0/64\"]\n", "aws.test_listener_cidrs[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not contain %q", err, tc.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *config.Error", err)
			}
		})
	}
}

// TestTestListenerCIDRs: the test listener is closed unless CIDRs are
// given; given ones are kept as written.
func TestTestListenerCIDRs(t *testing.T) {
	c, err := Parse("c.yaml", []byte("aws:\n  region: eu-west-1\n"))
	if err != nil || len(c.AWS.TestListenerCIDRs) != 0 {
		t.Fatalf("default: %v %v, want none", err, c.AWS.TestListenerCIDRs)
	}
	c, err = Parse("c.yaml", []byte("aws:\n  test_listener_cidrs: [203.0.113.0/24, \"2001:db8::/32\"]\n"))
	if err != nil || strings.Join(c.AWS.TestListenerCIDRs, " ") != "203.0.113.0/24 2001:db8::/32" {
		t.Fatalf("opt-in: %v %v", err, c.AWS.TestListenerCIDRs)
	}
}
