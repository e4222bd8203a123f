package config

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

// Service is the `service` section: what canaryflow deploys and how a
// deployment of it runs. Every field's zero value means the default its
// comment names; the section itself is optional for release-only use.
type Service struct {
	// Name identifies the service in the store and the API. Required.
	Name string `yaml:"name"`
	// Container names the container that receives traffic and its port,
	// as an appspec's LoadBalancerInfo does. Zero name means Name; zero
	// port means 3000.
	Container Container `yaml:"container"`
	// DesiredCount is the number of tasks in each task set. Zero means 1.
	DesiredCount int `yaml:"desired_count"`
	// Env is added to every task's environment.
	Env map[string]string `yaml:"env"`
	// HealthCheck is the router's active check of each target.
	HealthCheck HealthCheck `yaml:"health_check"`
	// Listeners are the production and test ports. Zero means 8080 and 8081.
	Listeners Listeners `yaml:"listeners"`
	// PinHeader lets a client holding a secret pin a request to blue or
	// green (see PinHeader). Zero: no pinning.
	PinHeader PinHeader `yaml:"pin_header"`
	// DeploymentConfig is how traffic shifts. Zero means
	// CodeDeployDefault.ECSCanary10Percent5Minutes.
	DeploymentConfig DeploymentConfig `yaml:"deployment_config"`
	// Ready is the wait before production traffic moves.
	Ready Ready `yaml:"ready"`
	// TerminationWait is how long blue keeps running after all traffic is
	// on green, so a rollback stays instant. Zero means 5m (AWS's default
	// is 1h; locally a short wait is kinder).
	TerminationWait Duration `yaml:"termination_wait"`
	// Alarms stop a deployment when green misbehaves.
	Alarms Alarms `yaml:"alarms"`
	// AutoRollback says which failures roll back by themselves.
	AutoRollback AutoRollback `yaml:"auto_rollback"`
	// Hooks maps a hook event name (BeforeInstall…) or an appspec function
	// name to what runs locally: a command or an HTTP URL.
	Hooks map[string]Hook `yaml:"hooks"`
	// Runtime runs the tasks: "auto" (docker when an engine answers, else
	// process), "process" or "docker". Zero means "auto".
	Runtime string `yaml:"runtime"`
	// KeepImages is the local registry's lifecycle rule, like an ECR
	// lifecycle policy: after each push only the newest KeepImages images of
	// a repository stay, plus any image a running task uses. Zero means
	// DefaultKeepImages.
	KeepImages int `yaml:"keep_images"`
	// AllowedRegistries are the registries (host[:port], exactly as image
	// references name them) whose images the daemon deploys besides its
	// own embedded registry, which is always allowed. Zero: none.
	AllowedRegistries []string `yaml:"allowed_registries"`
}

// DefaultKeepImages is how many images of a repository the local registry
// keeps when keep_images is not set.
const DefaultKeepImages = 30

// Container is the container that receives traffic.
type Container struct {
	Name string `yaml:"name"`
	Port int    `yaml:"port"`
}

// HealthCheck is an active HTTP health check, as an ALB target group has.
type HealthCheck struct {
	Path               string   `yaml:"path"`                // zero: /healthz
	Interval           Duration `yaml:"interval"`            // zero: 5s
	Timeout            Duration `yaml:"timeout"`             // zero: 2s
	HealthyThreshold   int      `yaml:"healthy_threshold"`   // zero: 2
	UnhealthyThreshold int      `yaml:"unhealthy_threshold"` // zero: 2
	SuccessCodes       string   `yaml:"success_codes"`       // zero: "200-399"; "200,204" or "200-299"
}

// Listeners are the router's ports.
type Listeners struct {
	ProductionPort int `yaml:"production_port"`
	TestPort       int `yaml:"test_port"`
}

// Ready is CodeDeploy's deploymentReadyOption.
type Ready struct {
	// Action is CONTINUE_DEPLOYMENT (the default: shift at once) or
	// STOP_DEPLOYMENT (wait for approval, stop after Wait).
	Action string `yaml:"action"`
	// Wait is how long STOP_DEPLOYMENT waits for approval. Zero means 1h.
	Wait Duration `yaml:"wait"`
}

// Ready actions, by CodeDeploy's names.
const (
	ContinueDeployment = "CONTINUE_DEPLOYMENT"
	StopDeployment     = "STOP_DEPLOYMENT"
)

// AutoRollback is CodeDeploy's autoRollbackConfiguration.
type AutoRollback struct {
	// Disabled turns automatic rollback off entirely.
	Disabled bool `yaml:"disabled"`
	// Events are the failures that roll back. Zero means all three:
	// DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM, DEPLOYMENT_STOP_ON_REQUEST.
	Events []string `yaml:"events"`
}

// Auto rollback events, by CodeDeploy's names.
const (
	RollbackOnFailure = "DEPLOYMENT_FAILURE"
	RollbackOnAlarm   = "DEPLOYMENT_STOP_ON_ALARM"
	RollbackOnRequest = "DEPLOYMENT_STOP_ON_REQUEST"
)

// Hook is what runs at a hook event: exactly one of Command (argv, never
// a shell) or URL (POSTed a JSON body; any 2xx is success).
type Hook struct {
	Command []string `yaml:"command"`
	URL     string   `yaml:"url"`
	// Timeout bounds the hook. Zero means 60s (AWS gives a hook up to 1h).
	Timeout Duration `yaml:"timeout"`
}

// Duration is a time span written as a Go duration ("90s", "5m") or a
// whole number of seconds (90).
type Duration time.Duration

// UnmarshalYAML accepts "5m", "90s" or 90; its errors carry the line.
func (d *Duration) UnmarshalYAML(node ast.Node) error {
	tk := node.GetToken()
	s := ""
	if tk != nil {
		s = strings.TrimSpace(tk.Value)
	}
	fail := func(format string, a ...any) error {
		return &yaml.SyntaxError{Message: fmt.Sprintf(format, a...), Token: tk}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 1<<31 {
			return fail("duration %d seconds is out of range", n)
		}
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fail("%q is not a duration: write 90s, 5m or a number of seconds", s)
	}
	if v < 0 {
		return fail("duration %s is negative", v)
	}
	*d = Duration(v)
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// DeploymentConfig is a predefined ECS configuration name, or a custom
// routing written as {type, percent, interval}.
type DeploymentConfig struct {
	// Name is the predefined name, or "" for a custom routing.
	Name string
	// Routing is the resolved routing, filled in by validation.
	Routing awsfmt.TrafficRouting
	custom  *customRouting
}

type customRouting struct {
	Type     string   `yaml:"type"`
	Percent  float64  `yaml:"percent"` // read as a number so that 0.01 is refused as it is, not as 0
	Interval Duration `yaml:"interval"`
}

// UnmarshalYAML accepts a name or a mapping.
func (c *DeploymentConfig) UnmarshalYAML(node ast.Node) error {
	if sn, ok := node.(*ast.StringNode); ok {
		c.Name = sn.Value
		return nil
	}
	if _, ok := node.(*ast.MappingNode); !ok {
		return &yaml.SyntaxError{Message: "want a configuration name or {type, percent, interval}", Token: node.GetToken()}
	}
	var cr customRouting
	if err := yaml.NodeToValue(node, &cr, yaml.Strict(), yaml.DisallowUnknownField()); err != nil {
		return err
	}
	c.custom = &cr
	return nil
}

// Alarms are the checks that stop a deployment, evaluated over the
// router's metrics for green, one datapoint per Period. A period in which
// green served fewer than MinRequests requests is missing data: it is
// neither healthy nor a breach unless TreatMissingData says "breaching",
// and the deployment's status says no traffic was seen.
type Alarms struct {
	Disabled bool `yaml:"disabled"`
	// Period is one datapoint's span. Zero means 10s.
	Period Duration `yaml:"period"`
	// EvaluationPeriods is how many recent datapoints are judged. Zero means 3.
	EvaluationPeriods int `yaml:"evaluation_periods"`
	// DatapointsToAlarm is how many of those must breach. Zero means 2.
	DatapointsToAlarm int `yaml:"datapoints_to_alarm"`
	// ErrorRatePercent breaches when 5xx responses reach this share. Zero means 5.
	ErrorRatePercent float64 `yaml:"error_rate_percent"`
	// P99Latency breaches when green's p99 exceeds it. Zero means no latency alarm.
	P99Latency Duration `yaml:"p99_latency"`
	// UnhealthyTargets breaches when at least this many green targets are
	// unhealthy. Zero means 1.
	UnhealthyTargets int `yaml:"unhealthy_targets"`
	// MinRequests is the fewest requests that make a datapoint. Zero means 10.
	MinRequests int `yaml:"min_requests"`
	// MinErrors is the fewest 5xx in a period that can breach the error
	// rate, so one unlucky error in a small sample does not roll back.
	// Zero means 3.
	MinErrors int `yaml:"min_errors"`
	// TreatMissingData is "missing" (default) or "breaching".
	TreatMissingData string `yaml:"treat_missing_data"`
	// PromoteWithoutTraffic lets a canary or linear step move on when its
	// interval passes even if green served fewer than MinRequests
	// requests in it. False (the default) holds the step, its alarms
	// still watched, until they arrive: a stall that measured nothing
	// promotes nothing.
	PromoteWithoutTraffic bool `yaml:"promote_without_traffic"`
}

var serviceName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// applyDefaults fills in the zero fields.
func (s *Service) applyDefaults() {
	if s.Container.Name == "" {
		s.Container.Name = s.Name
	}
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defD := func(p *Duration, v time.Duration) {
		if *p == 0 {
			*p = Duration(v)
		}
	}
	def(&s.Container.Port, 3000)
	def(&s.DesiredCount, 1)
	if s.HealthCheck.Path == "" {
		s.HealthCheck.Path = "/healthz"
	}
	defD(&s.HealthCheck.Interval, 5*time.Second)
	defD(&s.HealthCheck.Timeout, 2*time.Second)
	def(&s.HealthCheck.HealthyThreshold, 2)
	def(&s.HealthCheck.UnhealthyThreshold, 2)
	if s.HealthCheck.SuccessCodes == "" {
		s.HealthCheck.SuccessCodes = "200-399"
	}
	def(&s.Listeners.ProductionPort, 8080)
	def(&s.Listeners.TestPort, 8081)
	s.PinHeader.applyDefaults()
	if s.DeploymentConfig.Name == "" && s.DeploymentConfig.custom == nil {
		s.DeploymentConfig.Name = awsfmt.DefaultDeploymentConfig
	}
	if s.Ready.Action == "" {
		s.Ready.Action = ContinueDeployment
	}
	defD(&s.Ready.Wait, time.Hour)
	defD(&s.TerminationWait, 5*time.Minute)
	a := &s.Alarms
	defD(&a.Period, 10*time.Second)
	def(&a.EvaluationPeriods, 3)
	def(&a.DatapointsToAlarm, 2)
	if a.ErrorRatePercent == 0 {
		a.ErrorRatePercent = 5
	}
	def(&a.UnhealthyTargets, 1)
	def(&a.MinRequests, 10)
	def(&a.MinErrors, 3)
	if a.TreatMissingData == "" {
		a.TreatMissingData = "missing"
	}
	if len(s.AutoRollback.Events) == 0 && !s.AutoRollback.Disabled {
		s.AutoRollback.Events = []string{RollbackOnFailure, RollbackOnAlarm, RollbackOnRequest}
	}
	for k, h := range s.Hooks {
		if h.Timeout == 0 {
			h.Timeout = Duration(60 * time.Second)
			s.Hooks[k] = h
		}
	}
	if s.Runtime == "" {
		s.Runtime = "auto"
	}
	if s.KeepImages == 0 {
		s.KeepImages = DefaultKeepImages
	}
}

// validate applies the defaults, then checks every field.
func (s *Service) validate(path string, data []byte) []error {
	s.applyDefaults()
	var errs []error
	bad := func(field, format string, a ...any) {
		e := fieldError(path, data, "service."+field, format, a...)
		if e.Line == 0 {
			e.Line = lineOf(data, "$.service") // a missing field: point at its section
		}
		errs = append(errs, e)
	}
	if !serviceName.MatchString(s.Name) {
		bad("name", "%q must be 1-63 lowercase letters, digits or '-', starting with a letter or digit", s.Name)
	}
	if s.Name != "" && s.Container.Name == "" || strings.ContainsAny(s.Container.Name, " \t/") {
		bad("container.name", "%q is not a container name", s.Container.Name)
	}
	port := func(field string, p int) {
		if p < 1 || p > 65535 {
			bad(field, "%d is not a port (1-65535)", p)
		}
	}
	port("container.port", s.Container.Port)
	port("listeners.production_port", s.Listeners.ProductionPort)
	port("listeners.test_port", s.Listeners.TestPort)
	if s.Listeners.ProductionPort == s.Listeners.TestPort {
		bad("listeners.test_port", "must differ from production_port (both are %d)", s.Listeners.TestPort)
	}
	for _, p := range s.PinHeader.problems() {
		bad("pin_header."+p[0], "%s", p[1])
	}
	if s.DesiredCount < 1 || s.DesiredCount > 100 {
		bad("desired_count", "%d: want 1-100", s.DesiredCount)
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "= \t\n") {
			bad("env", "%q is not an environment variable name", k)
		}
	}
	hc := s.HealthCheck
	if !strings.HasPrefix(hc.Path, "/") {
		bad("health_check.path", "%q must start with '/'", hc.Path)
	}
	if hc.Timeout >= hc.Interval {
		bad("health_check.timeout", "%s must be shorter than interval %s", hc.Timeout.D(), hc.Interval.D())
	}
	if hc.HealthyThreshold < 1 || hc.HealthyThreshold > 10 {
		bad("health_check.healthy_threshold", "%d: want 1-10", hc.HealthyThreshold)
	}
	if hc.UnhealthyThreshold < 1 || hc.UnhealthyThreshold > 10 {
		bad("health_check.unhealthy_threshold", "%d: want 1-10", hc.UnhealthyThreshold)
	}
	if _, err := ParseSuccessCodes(hc.SuccessCodes); err != nil {
		bad("health_check.success_codes", "%v", err)
	}
	if err := s.resolveDeploymentConfig(); err != nil {
		bad("deployment_config", "%v", err)
	}
	if s.Ready.Action != ContinueDeployment && s.Ready.Action != StopDeployment {
		bad("ready.action", "%q: want %s or %s", s.Ready.Action, ContinueDeployment, StopDeployment)
	}
	a := s.Alarms
	if a.Period < Duration(100*time.Millisecond) {
		bad("alarms.period", "%s is too short: at least 100ms", a.Period.D())
	}
	if a.EvaluationPeriods < 1 || a.EvaluationPeriods > 100 {
		bad("alarms.evaluation_periods", "%d: want 1-100", a.EvaluationPeriods)
	}
	if a.DatapointsToAlarm < 1 || a.DatapointsToAlarm > a.EvaluationPeriods {
		bad("alarms.datapoints_to_alarm", "%d: want 1-evaluation_periods (%d)", a.DatapointsToAlarm, a.EvaluationPeriods)
	}
	if a.ErrorRatePercent <= 0 || a.ErrorRatePercent > 100 {
		bad("alarms.error_rate_percent", "%v: want more than 0 and at most 100", a.ErrorRatePercent)
	}
	if a.UnhealthyTargets < 1 {
		bad("alarms.unhealthy_targets", "%d: want at least 1", a.UnhealthyTargets)
	}
	if a.MinRequests < 1 {
		bad("alarms.min_requests", "%d: want at least 1", a.MinRequests)
	}
	if a.MinErrors < 1 {
		bad("alarms.min_errors", "%d: want at least 1", a.MinErrors)
	}
	if a.TreatMissingData != "missing" && a.TreatMissingData != "breaching" {
		bad("alarms.treat_missing_data", "%q: want missing or breaching", a.TreatMissingData)
	}
	for i, e := range s.AutoRollback.Events {
		if e != RollbackOnFailure && e != RollbackOnAlarm && e != RollbackOnRequest {
			bad(fmt.Sprintf("auto_rollback.events[%d]", i), "%q: want %s, %s or %s", e, RollbackOnFailure, RollbackOnAlarm, RollbackOnRequest)
		}
	}
	names := make([]string, 0, len(s.Hooks))
	for k := range s.Hooks {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		h := s.Hooks[k]
		switch {
		case len(h.Command) > 0 && h.URL != "":
			bad("hooks."+k, "give command or url, not both")
		case len(h.Command) == 0 && h.URL == "":
			bad("hooks."+k, "give a command (argv list) or a url")
		case len(h.Command) > 0 && h.Command[0] == "":
			bad("hooks."+k+".command", "the program name is empty")
		case h.URL != "" && !strings.HasPrefix(h.URL, "http://") && !strings.HasPrefix(h.URL, "https://"):
			bad("hooks."+k+".url", "%q must be an http:// or https:// URL", h.URL)
		}
	}
	if s.Runtime != "auto" && s.Runtime != "process" && s.Runtime != "docker" {
		bad("runtime", "%q: want auto, process or docker", s.Runtime)
	}
	if s.KeepImages < 0 {
		bad("keep_images", "%d: want a positive number of images", s.KeepImages)
	}
	s.validateAllowedRegistries(bad)
	return errs
}

// resolveDeploymentConfig fills in Routing from the name or custom form.
func (s *Service) resolveDeploymentConfig() error {
	dc := &s.DeploymentConfig
	if cr := dc.custom; cr != nil {
		if cr.Percent != math.Trunc(cr.Percent) || cr.Percent < 0 || cr.Percent > 100 {
			return fmt.Errorf("percent %v: want a whole number of percent, 1-99", cr.Percent)
		}
		dc.Routing = awsfmt.TrafficRouting{Type: cr.Type, Percent: int(cr.Percent), Interval: cr.Interval.D()}
		return dc.Routing.Validate()
	}
	r, ok := awsfmt.PredefinedDeploymentConfig(dc.Name)
	if !ok {
		return fmt.Errorf("unknown configuration %q: want one of %s, or {type: TimeBasedCanary|TimeBasedLinear|AllAtOnce, percent, interval}",
			dc.Name, strings.Join(awsfmt.PredefinedDeploymentConfigNames(), ", "))
	}
	dc.Routing = r
	return nil
}

// ParseSuccessCodes reads an ALB matcher such as "200", "200,204" or
// "200-299" into inclusive ranges.
func ParseSuccessCodes(s string) ([][2]int, error) {
	var out [][2]int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 100 || b > 599 || a > b {
			return nil, fmt.Errorf("%q: want HTTP codes like 200, 200,204 or 200-299", s)
		}
		out = append(out, [2]int{a, b})
	}
	return out, nil
}
