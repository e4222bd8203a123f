package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// AWS is the `aws` section: where and how the service runs on AWS. Every
// field is optional; a zero field is discovered from the account (region,
// account, default VPC) or derived from the rest of the file, never
// hard-coded.
type AWS struct {
	// Region is the AWS region. Zero means the SDK's usual sources
	// (AWS_REGION, the profile).
	Region string `yaml:"region"`
	// Account is the 12-digit account ID. Zero means the one the
	// credentials belong to (sts:GetCallerIdentity).
	Account string `yaml:"account"`
	// Subnets run the tasks and the load balancer. Zero means the default
	// VPC's subnets.
	Subnets []string `yaml:"subnets"`
	// SecurityGroups are given to the tasks. Zero means canaryflow creates
	// one for the load balancer and one for the tasks.
	SecurityGroups []string `yaml:"security_groups"`
	// ConnectionARN is an existing CodeStar (CodeConnections) GitHub
	// connection. Zero means apply creates one, which needs a one-time
	// approval in the console.
	ConnectionARN string `yaml:"connection_arn"`
	// GitHubRepo is OWNER/NAME. Zero means the origin remote's, when it
	// points at GitHub.
	GitHubRepo string `yaml:"github_repo"`
	// TagPattern is the glob of tags that start the pipeline. Zero means
	// the release tag prefix followed by "*" ("v*").
	TagPattern string `yaml:"tag_pattern"`
	// Controller is CODE_DEPLOY (CodeDeploy blue/green, the default) or
	// ECS (ECS's native canary/linear blue/green).
	Controller string `yaml:"controller"`
	// CPU and Memory size each Fargate task (CPU units, MiB). Zero means
	// 256 and 512.
	CPU    int `yaml:"cpu"`
	Memory int `yaml:"memory"`
	// PrivateTasks turns off public IPs on tasks. Zero (false) gives each
	// task a public IP so it can pull from ECR in a default VPC, which has
	// no NAT gateway.
	PrivateTasks bool `yaml:"private_tasks"`
	// TestListenerCIDRs are the networks (such as 203.0.113.0/24 or
	// 2001:db8::/32) the load balancer's test listener accepts traffic
	// from. Zero means none: the listener exists for CodeDeploy's test
	// traffic route, but no security-group rule opens its port, so a
	// release under test is not on the internet.
	TestListenerCIDRs []string `yaml:"test_listener_cidrs"`
}

// Deployment controllers, by ECS's names.
const (
	ControllerCodeDeploy = "CODE_DEPLOY"
	ControllerECS        = "ECS"
)

var (
	awsRegion     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	awsAccount    = regexp.MustCompile(`^[0-9]{12}$`)
	awsSubnet     = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	awsSG         = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	awsConnection = regexp.MustCompile(`^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-zA-Z-]+$`)
	githubRepo    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$`)
	tagPattern    = regexp.MustCompile(`^[A-Za-z0-9._/*?-]{1,64}$`)
)

// fargateSizes are the CPU units Fargate offers with their memory range
// (MiB, inclusive) and step.
var fargateSizes = map[int][3]int{
	256:  {512, 2048, 1024}, // 512, 1024, 2048 (512 is the odd one out, checked below)
	512:  {1024, 4096, 1024},
	1024: {2048, 8192, 1024},
	2048: {4096, 16384, 1024},
	4096: {8192, 30720, 1024},
}

func (a *AWS) applyDefaults(r Release) {
	if a.Controller == "" {
		a.Controller = ControllerCodeDeploy
	}
	if a.CPU == 0 {
		a.CPU = 256
	}
	if a.Memory == 0 {
		a.Memory = 512
	}
	if a.TagPattern == "" {
		a.TagPattern = r.TagPrefix + "*"
	}
}

// validate applies the defaults, then checks every field.
func (a *AWS) validate(path string, data []byte, r Release) []error {
	a.applyDefaults(r)
	var errs []error
	bad := func(field, format string, args ...any) {
		e := fieldError(path, data, "aws."+field, format, args...)
		if e.Line == 0 {
			e.Line = lineOf(data, "$.aws")
		}
		errs = append(errs, e)
	}
	if a.Region != "" && !awsRegion.MatchString(a.Region) {
		bad("region", "%q is not a region name such as us-west-2", a.Region)
	}
	if a.Account != "" && !awsAccount.MatchString(a.Account) {
		bad("account", "%q is not a 12-digit account ID", a.Account)
	}
	for i, s := range a.Subnets {
		if !awsSubnet.MatchString(s) {
			bad(fmt.Sprintf("subnets[%d]", i), "%q is not a subnet ID such as subnet-0123abcd", s)
		}
	}
	if len(a.Subnets) == 1 {
		bad("subnets", "an Application Load Balancer needs subnets in at least two Availability Zones; give two or more")
	}
	for i, s := range a.SecurityGroups {
		if !awsSG.MatchString(s) {
			bad(fmt.Sprintf("security_groups[%d]", i), "%q is not a security group ID such as sg-0123abcd", s)
		}
	}
	if a.ConnectionARN != "" && !awsConnection.MatchString(a.ConnectionARN) {
		bad("connection_arn", "%q is not a connection ARN (arn:aws:codestar-connections:REGION:ACCOUNT:connection/ID)", a.ConnectionARN)
	}
	if a.GitHubRepo != "" && !githubRepo.MatchString(a.GitHubRepo) {
		bad("github_repo", "%q: want OWNER/NAME", a.GitHubRepo)
	}
	if !tagPattern.MatchString(a.TagPattern) || !strings.Contains(a.TagPattern, "*") && !strings.Contains(a.TagPattern, "?") {
		bad("tag_pattern", "%q: want a glob such as v*", a.TagPattern)
	}
	if a.Controller != ControllerCodeDeploy && a.Controller != ControllerECS {
		bad("controller", "%q: want %s or %s", a.Controller, ControllerCodeDeploy, ControllerECS)
	}
	if msg := FargateSizeProblem(a.CPU, a.Memory); msg != "" {
		bad("memory", "%s", msg)
	}
	for i, c := range a.TestListenerCIDRs {
		if msg := CIDRProblem(c); msg != "" {
			bad(fmt.Sprintf("test_listener_cidrs[%d]", i), "%s", msg)
		}
	}
	return errs
}

// CIDRProblem says why s is not a network in CIDR notation as a security
// group rule takes it (address bits past the prefix length zero), or ""
// when it is one.
func CIDRProblem(s string) string {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return fmt.Sprintf("%q is not a network in CIDR notation such as 203.0.113.0/24", s)
	}
	if p.Addr().Zone() != "" || p.Addr().Is4In6() {
		return fmt.Sprintf("%q: want a plain IPv4 or IPv6 network", s)
	}
	if p.Masked() != p {
		return fmt.Sprintf("%q has host bits set: the network is %s", s, p.Masked())
	}
	return ""
}

// FargateSizeProblem says why cpu/memory is not a Fargate task size, or ""
// when it is one.
func FargateSizeProblem(cpu, memory int) string {
	r, ok := fargateSizes[cpu]
	if !ok {
		return fmt.Sprintf("cpu %d is not a Fargate size: want 256, 512, 1024, 2048 or 4096", cpu)
	}
	if cpu == 256 && memory == 512 {
		return ""
	}
	if memory < r[0] || memory > r[1] || memory%r[2] != 0 {
		return fmt.Sprintf("memory %d does not go with cpu %d on Fargate: want %d-%d MiB in steps of %d", memory, cpu, r[0], r[1], r[2])
	}
	return ""
}
