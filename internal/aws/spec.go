// Package aws is canaryflow's AWS backend: it renders the documents a team
// would otherwise write by hand (task definition, AppSpec, buildspec,
// service, deployment group, pipeline, alarms, IAM policies), provisions
// them in dependency order, drives CodeDeploy (or ECS native) deployments
// and diagnoses the failure classes the release guide hit one by one.
//
// It is the only package that imports aws-sdk-go-v2. Clients are built the
// way every AWS SDK builds them, so AWS_ENDPOINT_URL, AWS_REGION,
// AWS_PROFILE and the shared config files work as users expect.
package aws

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"time"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

// Deployment controllers, by ECS's names.
const (
	ControllerCodeDeploy = "CODE_DEPLOY"
	ControllerECS        = "ECS"
)

// Spec is everything the AWS backend needs to know about one service: the
// plain form of canaryflow.yaml's service and aws sections. Zero fields
// mean the default their comment names.
type Spec struct {
	// Service names the service; every AWS resource name derives from it.
	Service string
	// Container and Port receive the load balancer's traffic. Zero
	// container means Service; zero port means 3000.
	Container string
	Port      int
	// DesiredCount is the number of tasks. Zero means 1.
	DesiredCount int
	// Env is set in the container.
	Env map[string]string
	// HealthCheck is the target groups' health check.
	HealthCheck HealthCheck
	// ProductionPort and TestPort are the ALB listeners. Zero means 80 and 8080.
	ProductionPort int
	TestPort       int
	// TestListenerCIDRs are the networks the test listener is reachable
	// from, when canaryflow creates the load balancer's security group.
	// Zero means none: the production port is open to the internet, the
	// test port to nobody.
	TestListenerCIDRs []string
	// DeploymentConfig is a predefined CodeDeploy ECS configuration name;
	// empty means Routing is custom and a deployment config is created.
	DeploymentConfig string
	// Routing is how traffic shifts. Zero means a 10% canary for 5 minutes.
	Routing awsfmt.TrafficRouting
	// ReadyWait, when not zero, stops the deployment before production
	// traffic moves until someone approves (STOP_DEPLOYMENT).
	ReadyWait time.Duration
	// TerminationWait keeps blue after the shift. Zero means 5m.
	TerminationWait time.Duration
	// RollbackEvents are the failures that roll back. Zero means all
	// three: DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM and
	// DEPLOYMENT_STOP_ON_REQUEST.
	RollbackEvents []string
	// NoAutoRollback turns automatic rollback off.
	NoAutoRollback bool
	// Alarms on the green target group.
	Alarms Alarms
	// Region and Account locate the resources. Required.
	Region  string
	Account string
	// Subnets and SecurityGroups place the tasks and the ALB. Zero
	// security groups mean canaryflow creates its own.
	Subnets        []string
	SecurityGroups []string
	// PublicIP assigns public IPs to tasks.
	PublicIP bool
	// ConnectionARN is the GitHub connection; GitHubRepo is OWNER/NAME;
	// Branch is the branch the source action names; TagPattern is the
	// trigger's tag glob. Zero branch means main; zero pattern means v*.
	ConnectionARN string
	GitHubRepo    string
	Branch        string
	TagPattern    string
	// Controller is ControllerCodeDeploy (zero) or ControllerECS.
	Controller string
	// CPU and Memory size a task. Zero means 256 and 512.
	CPU    int
	Memory int
	// KeepImages is the ECR lifecycle rule's count, the same as the local
	// registry's (config's keep_images). Zero means 30.
	KeepImages int
}

// keepImages is the ECR lifecycle count.
func (s Spec) keepImages() int {
	if s.KeepImages <= 0 {
		return 30
	}
	return s.KeepImages
}

// HealthCheck is a target group health check.
type HealthCheck struct {
	Path               string        // zero: /healthz
	Interval           time.Duration // zero: 10s; AWS allows 5-300s
	Timeout            time.Duration // zero: 5s; AWS allows 2-120s
	HealthyThreshold   int           // zero: 2
	UnhealthyThreshold int           // zero: 2
	Matcher            string        // zero: 200-399
}

// Alarms are the CloudWatch alarms on the green target group.
type Alarms struct {
	// Disabled renders no alarms.
	Disabled bool
	// ErrorRatePercent is the 5xx share that breaches. Zero means 5.
	ErrorRatePercent float64
	// P99Latency is the p99 response time that breaches. Zero means no
	// latency alarm, as in a local deployment (config's alarms.p99_latency).
	P99Latency time.Duration
	// Period is one datapoint; rounded up to a whole minute. Zero means 60s.
	Period time.Duration
	// EvaluationPeriods and DatapointsToAlarm: zero means 3 and 2.
	EvaluationPeriods int
	DatapointsToAlarm int
	// MinRequests is the fewest requests in a period that count. Zero means 10.
	MinRequests int
}

// ErrInvalidSpec is wrapped by every Spec.Validate error.
var ErrInvalidSpec = errors.New("invalid AWS spec")

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	serviceRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// withDefaults returns a copy of s with the zero fields filled in.
func (s Spec) withDefaults() Spec {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	if s.Container == "" {
		s.Container = s.Service
	}
	def(&s.Port, 3000)
	def(&s.DesiredCount, 1)
	def(&s.ProductionPort, 80)
	def(&s.TestPort, 8080)
	def(&s.CPU, 256)
	def(&s.Memory, 512)
	h := &s.HealthCheck
	if h.Path == "" {
		h.Path = "/healthz"
	}
	defD(&h.Interval, 10*time.Second)
	defD(&h.Timeout, 5*time.Second)
	def(&h.HealthyThreshold, 2)
	def(&h.UnhealthyThreshold, 2)
	if h.Matcher == "" {
		h.Matcher = "200-399"
	}
	if s.Routing.Type == "" {
		s.DeploymentConfig = awsfmt.DefaultDeploymentConfig
		s.Routing, _ = awsfmt.PredefinedDeploymentConfig(s.DeploymentConfig)
	}
	defD(&s.TerminationWait, 5*time.Minute)
	a := &s.Alarms
	if a.ErrorRatePercent == 0 {
		a.ErrorRatePercent = 5
	}
	defD(&a.Period, time.Minute)
	a.Period = (a.Period + time.Minute - 1) / time.Minute * time.Minute
	def(&a.EvaluationPeriods, 3)
	def(&a.DatapointsToAlarm, 2)
	def(&a.MinRequests, 10)
	if s.Branch == "" {
		s.Branch = "main"
	}
	if s.TagPattern == "" {
		s.TagPattern = "v*"
	}
	if s.Controller == "" {
		s.Controller = ControllerCodeDeploy
	}
	if len(s.RollbackEvents) == 0 && !s.NoAutoRollback {
		s.RollbackEvents = []string{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"}
	}
	if s.NoAutoRollback {
		s.RollbackEvents = nil
	}
	return s
}

// Validate reports a spec AWS would not accept.
func (s Spec) Validate() error {
	s = s.withDefaults()
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidSpec}, a...)...))
	}
	if !serviceRE.MatchString(s.Service) {
		bad("service name %q: want 1-63 lowercase letters, digits or '-'", s.Service)
	}
	if !regionRE.MatchString(s.Region) {
		bad("region %q: set aws.region, AWS_REGION or a profile region", s.Region)
	}
	if !accountRE.MatchString(s.Account) {
		bad("account %q: set aws.account or give credentials so it can be discovered", s.Account)
	}
	if s.Controller != ControllerCodeDeploy && s.Controller != ControllerECS {
		bad("controller %q: want %s or %s", s.Controller, ControllerCodeDeploy, ControllerECS)
	}
	if err := s.Routing.Validate(); err != nil {
		bad("deployment config: %v", err)
	} else if s.Routing.Interval%time.Minute != 0 {
		bad("deployment config interval %s: AWS wants whole minutes", s.Routing.Interval)
	}
	if s.ProductionPort == s.TestPort {
		bad("production and test listener ports are both %d", s.ProductionPort)
	}
	for _, c := range s.TestListenerCIDRs {
		if p, err := netip.ParsePrefix(c); err != nil || p.Masked() != p || p.Addr().Zone() != "" {
			bad("test listener CIDR %q: want a network such as 203.0.113.0/24", c)
		}
	}
	h := s.HealthCheck
	if h.Interval < 5*time.Second || h.Interval > 300*time.Second || h.Timeout < 2*time.Second || h.Timeout >= h.Interval {
		bad("health check interval %s / timeout %s: ALB wants 5-300s and 2s up to less than the interval", h.Interval, h.Timeout)
	}
	return errors.Join(errs...)
}
