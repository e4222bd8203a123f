package aws

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// unscopedActions are the actions this project uses that IAM does not
// allow to be scoped to a resource: for them, and only them, "Resource":
// "*" is least privilege.
var unscopedActions = map[string]bool{
	"ecr:getauthorizationtoken":                          true,
	"ecs:registertaskdefinition":                         true,
	"ecs:describetaskdefinition":                         true,
	"elasticloadbalancing:describeloadbalancers":         true,
	"elasticloadbalancing:describelisteners":             true,
	"elasticloadbalancing:describerules":                 true,
	"elasticloadbalancing:describetargetgroups":          true,
	"elasticloadbalancing:describetargethealth":          true,
	"elasticloadbalancing:describetargetgroupattributes": true,
}

// LintPolicy reports how a permission policy falls short of least
// privilege: wildcard actions, "*" resources where IAM could scope them,
// iam:PassRole without an iam:PassedToService condition. Each problem is
// one sentence saying what to change.
func LintPolicy(p *PolicyDocument) []string {
	var out []string
	if p.Version != PolicyVersion {
		out = append(out, fmt.Sprintf("Version is %q: use %q (older versions do not support policy variables)", p.Version, PolicyVersion))
	}
	for i, st := range p.Statement {
		where := fmt.Sprintf("statement %d", i)
		if st.Sid != "" {
			where = fmt.Sprintf("statement %q", st.Sid)
		}
		if st.Principal != nil {
			out = append(out, where+": a permission policy has no Principal; move it to the role's trust policy")
		}
		if len(st.Resource) == 0 {
			out = append(out, where+": no Resource; name the ARNs the actions apply to")
		}
		anyResource := slices.Contains(st.Resource, "*")
		for _, a := range st.Action {
			la := strings.ToLower(a)
			switch {
			case strings.ContainsAny(a, "*?"):
				out = append(out, fmt.Sprintf("%s: action %q is a wildcard; list the actions needed", where, a))
			case anyResource && st.Effect == "Allow" && !unscopedActions[la] && la != "iam:passrole":
				out = append(out, fmt.Sprintf("%s: %s is allowed on every resource; scope it to the ARNs it needs", where, a))
			}
		}
		if slices.ContainsFunc(st.Action, func(a string) bool { return strings.EqualFold(a, "iam:PassRole") }) && st.Effect == "Allow" {
			if anyResource || slices.ContainsFunc(st.Resource, func(r string) bool { return strings.HasSuffix(r, ":role/*") }) {
				out = append(out, where+": iam:PassRole on every role; name the role ARNs to pass")
			}
			if len(st.Condition["StringEquals"]["iam:PassedToService"]) == 0 && len(st.Condition["StringLike"]["iam:PassedToService"]) == 0 {
				out = append(out, where+`: iam:PassRole without a condition; add "Condition": {"StringEquals": {"iam:PassedToService": "<service>.amazonaws.com"}}`)
			}
		}
	}
	return out
}

// LintTrust reports a trust policy that lets more than one named AWS
// service assume the role.
func LintTrust(p *PolicyDocument) []string {
	var out []string
	if p.Version != PolicyVersion {
		out = append(out, fmt.Sprintf("Version is %q: use %q", p.Version, PolicyVersion))
	}
	for i, st := range p.Statement {
		if st.Principal == nil || len(st.Principal.Service) == 0 {
			out = append(out, fmt.Sprintf("statement %d: trust a service principal such as ecs-tasks.amazonaws.com", i))
		}
		if st.Principal != nil && slices.Contains(st.Principal.AWS, "*") {
			out = append(out, fmt.Sprintf("statement %d: anyone may assume this role; name the service principal", i))
		}
		if !slices.Equal(st.Action, StringList{"sts:AssumeRole"}) {
			out = append(out, fmt.Sprintf("statement %d: want the single action sts:AssumeRole, got %v", i, []string(st.Action)))
		}
	}
	return out
}

// Grants reports whether p allows action on resource, matching IAM's
// wildcards in actions and resources (case-insensitive actions).
func Grants(p *PolicyDocument, action, resource string) bool {
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			continue
		}
		actionOK := slices.ContainsFunc(st.Action, func(a string) bool {
			ok, _ := path.Match(strings.ToLower(a), strings.ToLower(action))
			return ok || a == "*"
		})
		if !actionOK {
			continue
		}
		for _, r := range st.Resource {
			if r == "*" || globMatch(r, resource) {
				return true
			}
		}
	}
	return false
}

// globMatch matches IAM ARN patterns, where * also spans "/".
func globMatch(pattern, s string) bool {
	for {
		star := strings.IndexAny(pattern, "*?")
		if star < 0 {
			return pattern == s
		}
		if !strings.HasPrefix(s, pattern[:star]) {
			return false
		}
		s = s[star:]
		if pattern[star] == '?' {
			if s == "" {
				return false
			}
			pattern, s = pattern[star+1:], s[1:]
			continue
		}
		rest := pattern[star+1:]
		for i := 0; i <= len(s); i++ {
			if globMatch(rest, s[i:]) {
				return true
			}
		}
		return false
	}
}

// Need is one permission a role must have, with why.
type Need struct {
	Action   string
	Resource string
	Why      string
}

// CodeDeployNeeds are the permissions the CodeDeploy role must have for an
// ECS blue/green deployment: the ones the guide added after each failure
// (Q3 S3, Q4 ELB, Q5 ECS task sets).
func (n Names) CodeDeployNeeds() []Need {
	obj := n.BucketARN() + "/artifact"
	lis := strings.Replace(n.LoadBalancerARNs()[0], "*", "0123456789abcdef/0123456789abcdef", 1)
	rule := strings.Replace(n.LoadBalancerARNs()[1], "*", "0123456789abcdef/0123456789abcdef/0123456789abcdef", 1)
	ts := strings.Replace(n.TaskSetARNs(), "*", "ecs-svc/1234567890", 1)
	return []Need{
		{"s3:GetObject", obj, "CodeDeploy reads appspec.yaml and taskdef.json from the pipeline's S3 artifacts (IAM_ROLE_PERMISSIONS ... Amazon S3)"},
		{"elasticloadbalancing:DescribeListeners", lis, "CodeDeploy reads the listeners it shifts (... Amazon ElasticLoadBalancing)"},
		{"elasticloadbalancing:ModifyListener", lis, "CodeDeploy moves production traffic by changing the listener"},
		{"elasticloadbalancing:ModifyRule", rule, "CodeDeploy moves traffic on listener rules"},
		{"ecs:DescribeServices", n.ServiceARN(), "CodeDeploy reads the ECS service"},
		{"ecs:CreateTaskSet", n.ServiceARN(), "CodeDeploy starts the green task set (not authorized to perform: ecs:CreateTaskSet)"},
		{"ecs:UpdateServicePrimaryTaskSet", n.ServiceARN(), "CodeDeploy makes green primary"},
		{"ecs:DeleteTaskSet", ts, "CodeDeploy removes blue (or green, on rollback)"},
		{"ecs:DescribeTaskSets", ts, "CodeDeploy follows the task sets"},
		{"ecs:UpdateTaskSet", ts, "CodeDeploy scales task sets"},
		{"iam:PassRole", n.RoleARN(n.ExecutionRole), "CodeDeploy passes the task execution role to the green task set"},
	}
}

// Missing returns the needs p does not grant.
func Missing(p *PolicyDocument, needs []Need) []Need {
	var out []Need
	for _, nd := range needs {
		if !Grants(p, nd.Action, nd.Resource) {
			out = append(out, nd)
		}
	}
	return out
}
