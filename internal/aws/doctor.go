package aws

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

// Doctor check names, one per failure class of the release guide.
const (
	CheckUnreadable         = "unreadable"          // a file that does not parse
	CheckAppSpecPlaceholder = "appspec-placeholder" // Q2: INVALID_REVISION
	CheckNamesMatch         = "names-match"         // Q6: service, group, task definition, container, target groups
	CheckCodeDeployRole     = "codedeploy-role"     // Q3-Q5: S3, ELB, ECS task sets
	CheckPipelineTrigger    = "pipeline-trigger"    // V1 pipeline, no tag trigger
	CheckDeployAction       = "deploy-action"       // plain ECS/CodeDeploy action for blue/green
	CheckBuildOutput        = "build-output"        // imageDetail.json not written
	CheckDeploymentGroup    = "deployment-group"    // the guide's 4.2.3 notes
	CheckLeastPrivilege     = "least-privilege"     // Q11
	CheckPager              = "pager"               // Q1: head: |: No such file or directory
)

// Finding is one problem doctor found, with exactly what to change.
type Finding struct {
	Check   string
	File    string // relative path, or "environment" / "account"
	Line    int    // 1-based line in File; 0 when it has no single place
	Problem string
	Fix     string
}

func (f Finding) String() string {
	file := f.File
	if f.Line > 0 {
		file = fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return fmt.Sprintf("%s: [%s] %s\n    fix: %s", file, f.Check, f.Problem, f.Fix)
}

// addFunc records a finding in file; field, a dotted path into the
// document such as "pipeline.pipelineType", places it on a line.
type addFunc func(check, file, field, fix, format string, a ...any)

// lineOf is the line of field in the document at path, or 0.
func (d *Documents) lineOf(path, field string) int {
	if field == "" {
		return 0
	}
	for _, doc := range d.All {
		if doc.Path == path {
			return awsfmt.LineOf(doc.Data, field)
		}
	}
	return 0
}

// DoctorOptions are the inputs of a local diagnosis.
type DoctorOptions struct {
	// Spec, when set, lets doctor check resource ARNs in policies; zero
	// checks actions only.
	Spec *Spec
	// LookupEnv reads the environment (for the pager check); nil reads none.
	LookupEnv func(string) (string, bool)
	// AWSConfig is the text of the AWS CLI config file (~/.aws/config),
	// empty when there is none.
	AWSConfig string
	// Account is the account the documents are for, when known (aws.account);
	// zero means Spec's, if any. Knowing it, doctor flags AWS's sample
	// account 123456789012 left in the documents.
	Account string
}

var placeholderRE = regexp.MustCompile(`^<[^<>]+>$`)

// Diagnose checks the documents for the guide's failure classes.
func Diagnose(d *Documents, o DoctorOptions) []Finding {
	out := append([]Finding(nil), d.Problems...)
	add := func(check, file, field, fix, format string, a ...any) {
		out = append(out, Finding{Check: check, File: file, Line: d.lineOf(file, field), Problem: fmt.Sprintf(format, a...), Fix: fix})
	}
	account := o.Account
	if account == "" && o.Spec != nil {
		account = o.Spec.Account
	}
	for _, doc := range d.All {
		out = append(out, checkPlaceholders(doc, account)...)
		if doc.Kind == KindBuildspec {
			out = append(out, checkBuildspecCommands(doc)...)
		}
	}
	deploy := d.deployAction()
	provider := deploy.str("actionTypeId.provider")

	// Q2: a placeholder TaskDefinition only works when CodeDeployToECS fills it.
	if a := d.AppSpec; a != nil && placeholderRE.MatchString(a.TaskDefinition) {
		switch {
		case a.TaskDefinition != TaskDefinitionPlaceholder:
			add(CheckAppSpecPlaceholder, d.AppSpecPath, "Resources[0].TargetService.Properties.TaskDefinition", `write TaskDefinition: "`+TaskDefinitionPlaceholder+`" (the only placeholder CodeDeployToECS replaces), or the full task definition ARN`,
				"TaskDefinition is %s, which nothing replaces: CodeDeploy fails with INVALID_REVISION (Could not parse or validate one of the resources)", a.TaskDefinition)
		case d.Pipeline != nil && provider != "CodeDeployToECS":
			add(CheckAppSpecPlaceholder, d.AppSpecPath, "Resources[0].TargetService.Properties.TaskDefinition", `deploy with the CodeDeployToECS action (AppSpecTemplateArtifact, TaskDefinitionTemplateArtifact), which registers the task definition and fills in its ARN; or put the ARN in the AppSpec`,
				"TaskDefinition is the placeholder %s, but the pipeline's deploy action is %q, which passes it to CodeDeploy as it is (INVALID_REVISION)", a.TaskDefinition, provider)
		case d.Pipeline != nil && deploy.str("configuration.AppSpecTemplateArtifact") == "":
			add(CheckAppSpecPlaceholder, d.AppSpecPath, "Resources[0].TargetService.Properties.TaskDefinition", "set AppSpecTemplateArtifact (and AppSpecTemplatePath) in the CodeDeployToECS action so it fills TaskDefinition",
				"TaskDefinition is a placeholder but the deploy action names no AppSpec template artifact")
		}
	}
	d.checkNames(add)
	d.checkNamesAcross(add)
	out = append(out, d.checkImageDefinitionName()...)
	d.checkPipeline(add, deploy, provider)
	d.checkDeploymentGroup(add)
	if p := d.CodeDeployPolicy; p != nil {
		for _, nd := range d.missingNeeds(o.Spec) {
			add(CheckCodeDeployRole, d.CodeDeployPolicyPath, "Statement", fmt.Sprintf("add %q to the CodeDeploy role's policy", nd.Action),
				"the CodeDeploy role may not %s: %s", nd.Action, nd.Why)
		}
	} else if d.DeploymentGroup != nil && d.Policies != nil && len(d.Policies) > 0 {
		add(CheckCodeDeployRole, InfraDir+"/iam", "", "run `canaryflow aws render` to write the CodeDeploy role's policy",
			"there is a deployment group but no CodeDeploy role policy to check")
	}
	for _, path := range sortedKeys(d.Policies) {
		for _, prob := range LintPolicy(d.Policies[path]) {
			add(CheckLeastPrivilege, path, statementField(d.Policies[path], prob), "narrow the statement as it says; `canaryflow aws render` writes scoped policies", "%s", prob)
		}
	}
	for _, path := range sortedKeys(d.TrustPolicies) {
		for _, prob := range LintTrust(d.TrustPolicies[path]) {
			add(CheckLeastPrivilege, path, statementField(d.TrustPolicies[path], prob), "trust exactly one service principal with sts:AssumeRole; `canaryflow aws render` writes such trust policies", "%s", prob)
		}
	}
	out = append(out, checkPager(o)...)
	return out
}

// deployAction is the pipeline's Deploy-category action, or nil.
func (d *Documents) deployAction() obj {
	if d.Pipeline == nil {
		return obj{}
	}
	for _, st := range d.Pipeline.list("pipeline.stages") {
		for _, a := range st.list("actions") {
			if a.str("actionTypeId.category") == "Deploy" {
				return a
			}
		}
	}
	return obj{}
}

// statementField is the path of the statement a lint problem names
// ("statement 2: …" or "statement \"Sid\": …"), or "".
func statementField(p *PolicyDocument, problem string) string {
	var n int
	if _, err := fmt.Sscanf(problem, "statement %d:", &n); err == nil {
		return fmt.Sprintf("Statement[%d]", n)
	}
	for i, st := range p.Statement {
		if st.Sid != "" && strings.HasPrefix(problem, fmt.Sprintf("statement %q:", st.Sid)) {
			return fmt.Sprintf("Statement[%d]", i)
		}
	}
	return ""
}

// appSpecContainerField is where the AppSpec names the container.
const appSpecContainerField = "Resources[0].TargetService.Properties.LoadBalancerInfo.ContainerName"

// deployActionField is the path of field in the pipeline's deploy action,
// or "".
func (d *Documents) deployActionField(field string) string {
	for i, st := range d.Pipeline.list("pipeline.stages") {
		for j, a := range st.list("actions") {
			if a.str("actionTypeId.category") == "Deploy" {
				return fmt.Sprintf("pipeline.stages[%d].actions[%d].%s", i, j, field)
			}
		}
	}
	return ""
}

func (d *Documents) missingNeeds(spec *Spec) []Need {
	if spec != nil {
		return Missing(d.CodeDeployPolicy, NamesFor(*spec).CodeDeployNeeds())
	}
	// Without a spec the ARNs are unknown: check the actions on any resource.
	var out []Need
	for _, nd := range NamesFor(Spec{Service: "x", Region: "us-east-1", Account: "000000000000"}).CodeDeployNeeds() {
		granted := slices.ContainsFunc(d.CodeDeployPolicy.Statement, func(st Statement) bool {
			if st.Effect != "Allow" || len(st.Resource) == 0 {
				return false
			}
			one := &PolicyDocument{Statement: []Statement{{Effect: "Allow", Action: st.Action, Resource: StringList{"*"}}}}
			return Grants(one, nd.Action, "any")
		})
		if !granted {
			out = append(out, nd)
		}
	}
	return out
}

// checkNames is the guide's Q6: the same names in every document.
func (d *Documents) checkNames(add addFunc) {
	type container struct {
		ports []int
	}
	containers := map[string]container{}
	family := ""
	if td := d.TaskDef; td != nil {
		family = td.str("family")
		for _, c := range td.list("containerDefinitions") {
			var ports []int
			for _, pm := range c.list("portMappings") {
				p, _ := strconv.Atoi(pm.str("containerPort"))
				ports = append(ports, p)
			}
			containers[c.str("name")] = container{ports}
		}
	}
	checkContainer := func(file, field, what, name string, port int) {
		if d.TaskDef == nil || name == "" {
			return
		}
		c, ok := containers[name]
		switch {
		case !ok:
			add(CheckNamesMatch, file, field, fmt.Sprintf("use one of the task definition's container names (%s)", strings.Join(sortedKeys(containers), ", ")),
				"%s names container %q, which %s does not define", what, name, d.TaskDefPath)
		case port != 0 && !slices.Contains(c.ports, port):
			add(CheckNamesMatch, file, field, fmt.Sprintf("use port %v, or add a portMapping for %d to container %q", c.ports, port, name),
				"%s sends traffic to %s:%d, but the container maps ports %v", what, name, port, c.ports)
		}
	}
	if a := d.AppSpec; a != nil {
		checkContainer(d.AppSpecPath, appSpecContainerField, "LoadBalancerInfo", a.ContainerName, a.ContainerPort)
	}
	svc := d.Service
	if svc != nil {
		for i, lb := range svc.list("loadBalancers") {
			p, _ := strconv.Atoi(lb.str("containerPort"))
			checkContainer(d.ServicePath, fmt.Sprintf("loadBalancers[%d].containerName", i), "loadBalancers", lb.str("containerName"), p)
		}
		if td := svc.str("taskDefinition"); family != "" && td != "" && !strings.Contains(td, family) {
			add(CheckNamesMatch, d.ServicePath, "taskDefinition", fmt.Sprintf("set taskDefinition to %q", family),
				"taskDefinition is %q but the task definition family is %q", td, family)
		}
	}
	if a, svc := d.AppSpec, d.Service; a != nil && svc != nil {
		for _, lb := range svc.list("loadBalancers") {
			if n := lb.str("containerName"); n != "" && n != a.ContainerName {
				add(CheckNamesMatch, d.AppSpecPath, appSpecContainerField, fmt.Sprintf("set LoadBalancerInfo.ContainerName to %q", n),
					"the AppSpec routes to container %q, the service to %q", a.ContainerName, n)
			}
		}
	}
	g := d.DeploymentGroup
	if g == nil || svc == nil {
		return
	}
	name, cluster := svc.str("serviceName"), svc.str("cluster")
	if cluster == "" {
		cluster = "default"
	}
	es := g.list("ecsServices")
	if len(es) != 1 {
		add(CheckNamesMatch, d.DeploymentGroupPath, "ecsServices", fmt.Sprintf(`set "ecsServices": [{"serviceName": %q, "clusterName": %q}]`, name, cluster),
			"ecsServices has %d entries; an ECS deployment group has exactly one", len(es))
	} else {
		if s := es[0].str("serviceName"); s != name {
			add(CheckNamesMatch, d.DeploymentGroupPath, "ecsServices[0].serviceName", fmt.Sprintf("set ecsServices[0].serviceName to %q", name),
				"the deployment group deploys service %q but %s defines %q", s, d.ServicePath, name)
		}
		if c := es[0].str("clusterName"); c != cluster {
			add(CheckNamesMatch, d.DeploymentGroupPath, "ecsServices[0].clusterName", fmt.Sprintf("set ecsServices[0].clusterName to %q", cluster),
				"the deployment group's cluster is %q but the service runs in %q", c, cluster)
		}
	}
	var tgNames []string
	for _, p := range g.list("loadBalancerInfo.targetGroupPairInfoList") {
		for _, tg := range p.list("targetGroups") {
			tgNames = append(tgNames, tg.str("name"))
		}
	}
	for i, lb := range svc.list("loadBalancers") {
		arn := lb.str("targetGroupArn")
		if placeholderRE.MatchString(arn) || arn == "" || len(tgNames) == 0 {
			continue
		}
		if !slices.ContainsFunc(tgNames, func(n string) bool { return strings.Contains(arn, ":targetgroup/"+n+"/") }) {
			add(CheckNamesMatch, d.ServicePath, fmt.Sprintf("loadBalancers[%d].targetGroupArn", i), fmt.Sprintf("point loadBalancers[].targetGroupArn at one of the deployment group's target groups (%s)", strings.Join(tgNames, ", ")),
				"the service's target group %s is not one of the deployment group's %v", arn, tgNames)
		}
	}
	if d.Pipeline != nil {
		a := d.deployAction()
		if app := a.str("configuration.ApplicationName"); app != "" && app != g.str("applicationName") {
			add(CheckNamesMatch, d.PipelinePath, d.deployActionField("configuration.ApplicationName"), fmt.Sprintf("set ApplicationName to %q", g.str("applicationName")),
				"the deploy action's ApplicationName is %q, the deployment group's application is %q", app, g.str("applicationName"))
		}
		if dg := a.str("configuration.DeploymentGroupName"); dg != "" && dg != g.str("deploymentGroupName") {
			add(CheckNamesMatch, d.PipelinePath, d.deployActionField("configuration.DeploymentGroupName"), fmt.Sprintf("set DeploymentGroupName to %q", g.str("deploymentGroupName")),
				"the deploy action's DeploymentGroupName is %q, the group is %q", dg, g.str("deploymentGroupName"))
		}
	}
}

// checkPipeline: V2 with a tag trigger, and a deploy action that can do
// blue/green.
func (d *Documents) checkPipeline(add addFunc, deploy obj, provider string) {
	p := d.Pipeline
	if p == nil {
		return
	}
	if t := p.str("pipeline.pipelineType"); t != "V2" {
		if t == "" {
			t = "V1 (the default)"
		}
		add(CheckPipelineTrigger, d.PipelinePath, "pipeline.name", `set "pipelineType": "V2"; only V2 pipelines have Git tag triggers`,
			"the pipeline type is %s, which starts on every push to the branch, not on release tags", t)
	}
	hasTag := false
	for _, tr := range p.list("pipeline.triggers") {
		for _, push := range tr.list("gitConfiguration.push") {
			if len(push.arr("tags.includes")) > 0 {
				hasTag = true
			}
		}
	}
	if !hasTag {
		add(CheckPipelineTrigger, d.PipelinePath, "pipeline.name", `add "triggers": [{"providerType": "CodeStarSourceConnection", "gitConfiguration": {"sourceActionName": "Source", "push": [{"tags": {"includes": ["v*"]}}]}}]`,
			"no trigger on Git tags: pushing vX.Y.Z does not start a release")
	}
	deployField := d.deployActionField("actionTypeId.provider")
	blueGreen := d.DeploymentGroup != nil || d.Service.str("deploymentController.type") == ControllerCodeDeploy || d.AppSpec != nil
	switch {
	case provider == "ECS" && blueGreen && d.Service.str("deploymentController.type") != ControllerECS:
		add(CheckDeployAction, d.PipelinePath, deployField, `use provider "CodeDeployToECS" with TaskDefinitionTemplateArtifact, AppSpecTemplateArtifact, Image1ArtifactName and Image1ContainerName (or switch the service to the ECS controller's native canary)`,
			"the deploy action is the plain ECS action (imagedefinitions.json), which does rolling updates only; the blue/green deployment group is never used")
	case provider == "CodeDeploy" && blueGreen:
		add(CheckDeployAction, d.PipelinePath, deployField, `use provider "CodeDeployToECS"; the plain CodeDeploy action is for EC2 and leaves the AppSpec's task definition unfilled`,
			"the deploy action is the plain CodeDeploy action")
	case provider == "CodeDeployToECS":
		c := deploy
		for _, k := range []string{"TaskDefinitionTemplateArtifact", "AppSpecTemplateArtifact", "Image1ArtifactName", "Image1ContainerName"} {
			if c.str("configuration."+k) == "" {
				add(CheckDeployAction, d.PipelinePath, d.deployActionField("configuration"), "set "+k+" in the CodeDeployToECS action's configuration", "the CodeDeployToECS action has no %s", k)
			}
		}
		if img := c.str("configuration.Image1ContainerName"); img != "" && d.TaskDef != nil {
			found := false
			for _, ct := range d.TaskDef.list("containerDefinitions") {
				if strings.Contains(ct.str("image"), "<"+img+">") {
					found = true
				}
			}
			if !found {
				add(CheckNamesMatch, d.TaskDefPath, "containerDefinitions", fmt.Sprintf(`set the container's image to "<%s>"`, img),
					"Image1ContainerName is %s but no container's image is the placeholder <%s>, so the built image is never used", img, img)
			}
		}
		if d.Buildspec != nil && !strings.Contains(string(d.Buildspec), awsfmt.ImageDetailFileName) {
			add(CheckBuildOutput, d.BuildspecPath, "artifacts", `write imageDetail.json ({"ImageURI": "<repository>:<tag>"}) in post_build and list it, taskdef.json and appspec.yaml under artifacts.files`,
				"the build does not write %s, which CodeDeployToECS reads the image from", awsfmt.ImageDetailFileName)
		}
	}
}

// checkDeploymentGroup: the guide's notes under 4.2.3.
func (d *Documents) checkDeploymentGroup(add addFunc) {
	g := d.DeploymentGroup
	if g == nil {
		return
	}
	f := d.DeploymentGroupPath
	if g.str("deploymentStyle.deploymentType") != "BLUE_GREEN" || g.str("deploymentStyle.deploymentOption") != "WITH_TRAFFIC_CONTROL" {
		add(CheckDeploymentGroup, f, "deploymentStyle", `set "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}`,
			"ECS deployments must be blue/green with traffic control")
	}
	if g.get("blueGreenDeploymentConfiguration.greenFleetProvisioningOption") != nil {
		add(CheckDeploymentGroup, f, "blueGreenDeploymentConfiguration.greenFleetProvisioningOption", "remove blueGreenDeploymentConfiguration.greenFleetProvisioningOption", "greenFleetProvisioningOption is for EC2 and ECS rejects it")
	}
	pairs := g.list("loadBalancerInfo.targetGroupPairInfoList")
	if len(pairs) != 1 || len(pairs[0].list("targetGroups")) != 2 {
		add(CheckDeploymentGroup, f, "loadBalancerInfo", "give one targetGroupPairInfoList entry with two targetGroups (blue and green)", "blue/green needs exactly two target groups")
	} else if len(pairs[0].arr("prodTrafficRoute.listenerArns")) == 0 {
		add(CheckDeploymentGroup, f, "loadBalancerInfo.targetGroupPairInfoList[0]", "set prodTrafficRoute.listenerArns to the ALB production listener's ARN", "no production listener")
	}
	if ar := g.get("autoRollbackConfiguration.enabled"); ar != true {
		add(CheckDeploymentGroup, f, "deploymentGroupName", `set "autoRollbackConfiguration": {"enabled": true, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}`,
			"automatic rollback is off: a failed or alarming deployment stays where it stopped")
	}
	if g.get("alarmConfiguration.enabled") != true {
		add(CheckDeploymentGroup, f, "deploymentGroupName", "add alarmConfiguration with the green target group's 5xx and latency alarms", "no alarms stop the deployment")
	}
}

// checkPager is the guide's Q1: a PAGER with shell syntax breaks every
// AWS CLI command that prints.
func checkPager(o DoctorOptions) []Finding {
	bad := func(v string) bool { return strings.ContainsAny(v, "|;&<>`$") }
	var out []Finding
	fix := `export AWS_PAGER="" (and add it to your shell profile), or set cli_pager = to nothing in ~/.aws/config`
	if o.LookupEnv != nil {
		awsPager, awsPagerSet := o.LookupEnv("AWS_PAGER")
		pager, _ := o.LookupEnv("PAGER")
		if bad(awsPager) {
			out = append(out, Finding{Check: CheckPager, File: "environment", Fix: fix,
				Problem: fmt.Sprintf("AWS_PAGER=%q is run as one program, not through a shell: the AWS CLI fails with \"No such file or directory\"", awsPager)})
		} else if !awsPagerSet && bad(pager) {
			out = append(out, Finding{Check: CheckPager, File: "environment", Fix: fix,
				Problem: fmt.Sprintf("PAGER=%q has shell syntax and AWS_PAGER does not override it: the AWS CLI fails with \"head: |: No such file or directory\"", pager)})
		}
	}
	for i, line := range strings.Split(o.AWSConfig, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "cli_pager" && bad(v) {
			out = append(out, Finding{Check: CheckPager, File: fmt.Sprintf("~/.aws/config:%d", i+1), Fix: "set cli_pager = (empty) or a single program such as less",
				Problem: fmt.Sprintf("cli_pager =%s has shell syntax the AWS CLI cannot run", v)})
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
