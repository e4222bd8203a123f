package aws

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

// Doctor checks that read every document found.
const (
	CheckPlaceholder       = "placeholder"        // your-account-id, <…>, ACCOUNT_ID, a sample account
	CheckBuildspecCommands = "buildspec-commands" // a command YAML reads as a map: YAML_FILE_ERROR
)

// SampleAccount is the account ID AWS's documentation uses in examples.
const SampleAccount = "123456789012"

var (
	yourPlaceholder  = regexp.MustCompile(`(?i)\byour[-_][a-z0-9_-]+`)
	anglePlaceholder = regexp.MustCompile(`<[A-Za-z][A-Za-z0-9_./ -]{0,60}>`)
	shellPlaceholder = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}|\bACCOUNT_ID\b`)
)

// renderPlaceholders are the <NAME> values canaryflow's own render writes
// where AWS assigns the value later: `aws apply` fills them, and the
// pipeline fills <TASK_DEFINITION> and <IMAGE1_NAME>.
var renderPlaceholders = sync.OnceValue(func() map[string]bool {
	out := map[string]bool{TaskDefinitionPlaceholder: true, "<" + image1Name + ">": true}
	for _, c := range []string{ControllerCodeDeploy, ControllerECS} {
		b, err := Render(Spec{Service: "x", Region: "us-east-1", Account: "000000000000", Controller: c}, Live{})
		if err != nil {
			continue
		}
		for _, p := range b.Placeholders {
			out[p] = true
		}
	}
	return out
})

// checkPlaceholders reports, once per file and value, the values a person
// was meant to replace: your-account-id and its kin, <…>, ${VAR} never
// expanded (the guide's heredocs), ACCOUNT_ID, and the documentation's
// sample account when the real one is known to differ.
func checkPlaceholders(doc *Document, account string) []Finding {
	var out []Finding
	seen := map[string]bool{}
	for i, line := range bytes.Split(doc.Data, []byte("\n")) {
		text := string(line)
		var hits []string
		hits = append(hits, yourPlaceholder.FindAllString(text, -1)...)
		for _, m := range anglePlaceholder.FindAllString(text, -1) {
			if !renderPlaceholders()[m] && doc.Kind != KindAppSpec { // the AppSpec's own check says more
				hits = append(hits, m)
			}
		}
		if doc.Kind != KindBuildspec { // a buildspec's ${VAR} is the shell's, at build time
			hits = append(hits, shellPlaceholder.FindAllString(text, -1)...)
		}
		if account != "" && account != SampleAccount && strings.Contains(text, SampleAccount) {
			hits = append(hits, SampleAccount)
		}
		for _, h := range hits {
			if seen[h] {
				continue
			}
			seen[h] = true
			out = append(out, Finding{Check: CheckPlaceholder, File: doc.Path, Line: i + 1,
				Problem: fmt.Sprintf("%s is a placeholder, not a value: AWS rejects or misroutes %s", h, placeholderWhat(h, text)),
				Fix:     placeholderFix(h, account)})
		}
	}
	return out
}

// placeholderWhat names what the placeholder stands in for, from its line.
func placeholderWhat(h, line string) string {
	switch {
	case strings.Contains(line, ":role/"):
		return "the role ARN"
	case strings.Contains(line, ".dkr.ecr."):
		return "the image URI"
	case strings.Contains(line, ":targetgroup/"):
		return "the target group ARN"
	case strings.Contains(line, ":connection/"):
		return "the connection ARN"
	case strings.Contains(line, "arn:"):
		return "the ARN"
	}
	return "the value on this line"
}

func placeholderFix(h, account string) string {
	acct := "your 12-digit account ID (aws sts get-caller-identity --query Account --output text)"
	if account != "" {
		acct = account
	}
	lower := strings.ToLower(h)
	switch {
	case h == SampleAccount:
		return fmt.Sprintf("replace %s (the documentation's sample account) with %s", SampleAccount, acct)
	case strings.Contains(lower, "account"):
		return fmt.Sprintf("replace %s with %s, or let `canaryflow aws render` write the file with the account filled in", h, acct)
	case strings.HasPrefix(h, "${"):
		return fmt.Sprintf("%s was never expanded (a quoted heredoc, or a file copied from the guide): put the value in, or let `canaryflow aws render` write the file", h)
	}
	return fmt.Sprintf("replace %s with the real value, or let `canaryflow aws render` write the file", h)
}

// checkBuildspecCommands reports the commands of a buildspec CodeBuild
// refuses before running anything.
func checkBuildspecCommands(doc *Document) []Finding {
	var out []Finding
	for _, c := range awsfmt.BuildspecCommandsNotStrings(doc.Data) {
		out = append(out, Finding{Check: CheckBuildspecCommands, File: doc.Path, Line: c.Line,
			Problem: c.CodeBuildMessage() + fmt.Sprintf(" (phases.%s.%s[%d]: YAML reads the unquoted command as a map)", c.Phase, c.List, c.Index),
			Fix:     "quote the whole command: " + c.Fix()})
	}
	return out
}

// imageDefinitionName finds the container a buildspec's
// imagedefinitions.json names, or "".
var imageDefinitionName = regexp.MustCompile(`"name"\s*:\s*"([^"$%]+)"[^\n]*imagedefinitions\.json`)

// checkImageDefinitionName reports a buildspec whose imagedefinitions.json
// names a container the task definition does not define.
func (d *Documents) checkImageDefinitionName() []Finding {
	m := imageDefinitionName.FindSubmatchIndex(d.Buildspec)
	if m == nil || d.TaskDef == nil {
		return nil
	}
	name := string(d.Buildspec[m[2]:m[3]])
	containers := map[string]bool{}
	for _, c := range d.TaskDef.list("containerDefinitions") {
		containers[c.str("name")] = true
	}
	if containers[name] {
		return nil
	}
	return []Finding{{Check: CheckNamesMatch, File: d.BuildspecPath, Line: bytes.Count(d.Buildspec[:m[0]], []byte("\n")) + 1,
		Problem: fmt.Sprintf("imagedefinitions.json names container %q, which %s does not define: the deploy updates no container", name, d.TaskDefPath),
		Fix:     fmt.Sprintf("name one of the task definition's containers (%s) in imagedefinitions.json", strings.Join(sortedKeys(containers), ", "))}}
}

// checkNamesAcross compares what the documents say of one another beyond
// the service, deployment group, task definition and AppSpec (checkNames):
// the pipeline's build project, the deployment group's alarms and target
// groups and the documents that define them.
func (d *Documents) checkNamesAcross(add addFunc) {
	if d.Pipeline != nil && d.BuildProject != nil {
		for i, st := range d.Pipeline.list("pipeline.stages") {
			for j, a := range st.list("actions") {
				if a.str("actionTypeId.provider") != "CodeBuild" {
					continue
				}
				if p, want := a.str("configuration.ProjectName"), d.BuildProject.str("name"); p != "" && want != "" && p != want {
					add(CheckNamesMatch, d.PipelinePath, fmt.Sprintf("pipeline.stages[%d].actions[%d].configuration.ProjectName", i, j), fmt.Sprintf("set ProjectName to %q", want),
						"the build action runs project %q but %s defines %q", p, d.BuildProjectPath, want)
				}
			}
		}
	}
	var alarms, groups []string
	for _, doc := range d.All {
		switch doc.Kind {
		case KindAlarm:
			alarms = append(alarms, doc.tree.str("AlarmName"))
		case KindTargetGroup:
			groups = append(groups, doc.tree.str("Name"))
		}
	}
	if g := d.DeploymentGroup; g != nil {
		for _, a := range g.list("alarmConfiguration.alarms") {
			if n := a.str("name"); len(alarms) > 0 && n != "" && !slices.Contains(alarms, n) {
				add(CheckNamesMatch, d.DeploymentGroupPath, "alarmConfiguration.alarms", fmt.Sprintf("name one of the alarms defined (%s)", strings.Join(alarms, ", ")),
					"the deployment group watches alarm %q, which no alarm document defines", n)
			}
		}
		for _, p := range g.list("loadBalancerInfo.targetGroupPairInfoList") {
			for _, tg := range p.list("targetGroups") {
				if n := tg.str("name"); len(groups) > 0 && n != "" && !slices.Contains(groups, n) {
					add(CheckNamesMatch, d.DeploymentGroupPath, "loadBalancerInfo.targetGroupPairInfoList", fmt.Sprintf("name one of the target groups defined (%s)", strings.Join(groups, ", ")),
						"the deployment group shifts traffic to target group %q, which no target group document defines", n)
				}
			}
		}
	}
}
