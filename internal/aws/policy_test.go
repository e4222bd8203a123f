package aws

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRenderedPoliciesAreLeastPrivilege checks every rendered role.
func TestRenderedPoliciesAreLeastPrivilege(t *testing.T) {
	for name, s := range renderVariants() {
		n := NamesFor(s)
		roles := n.Roles()
		// execution, task, build, pipeline, and CodeDeploy's role or ECS's
		// infrastructure role.
		if len(roles) != 5 {
			t.Errorf("%s: %d roles, want 5", name, len(roles))
		}
		for _, r := range roles {
			if p := LintTrust(&r.Trust); len(p) > 0 {
				t.Errorf("%s %s trust: %v", name, r.Name, p)
			}
			if r.Policy == nil {
				if r.Name != n.TaskRole {
					t.Errorf("%s: role %s has no permissions", name, r.Name)
				}
				continue
			}
			// Round-trip through JSON, as doctor reads the files.
			data, _ := json.Marshal(r.Policy)
			p, err := ParsePolicy(data)
			if err != nil {
				t.Fatal(err)
			}
			if probs := LintPolicy(p); len(probs) > 0 {
				t.Errorf("%s %s: %s", name, r.Name, strings.Join(probs, "\n"))
			}
			for _, st := range p.Statement {
				for _, a := range st.Action {
					if strings.EqualFold(a, "iam:PassRole") && st.Condition["StringEquals"]["iam:PassedToService"][0] != principalECSTasks {
						t.Errorf("%s %s passes roles to %v", name, r.Name, st.Condition)
					}
				}
			}
		}
		if s.Controller == ControllerCodeDeploy {
			var cd *Role
			for i := range roles {
				if roles[i].Name == n.CodeDeployRole {
					cd = &roles[i]
				}
			}
			if miss := Missing(cd.Policy, n.CodeDeployNeeds()); len(miss) > 0 {
				t.Errorf("%s: CodeDeploy role misses %v", name, miss)
			}
		}
	}
}

func TestLintPolicyFindsOverreach(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"star action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, `action "*" is a wildcard`},
		{"service wildcard", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"arn:aws:s3:::b"}]}`, `"s3:*" is a wildcard`},
		{"unscoped", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:CreateTaskSet"],"Resource":"*"}]}`, "ecs:CreateTaskSet is allowed on every resource"},
		{"passrole any", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}`, "iam:PassRole on every role"},
		{"passrole no condition", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::1:role/x"}]}`, "iam:PassRole without a condition"},
		{"no resource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`, "no Resource"},
		{"old version", `{"Version":"2008-10-17","Statement":[]}`, "Version is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(LintPolicy(p), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("lint = %q, want %q", got, tc.want)
			}
		})
	}
	// The guide's CodePipeline policy, as first written, is what the rules exist for.
	guide := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchGetImage"],"Resource":"*"},
	 {"Effect":"Allow","Action":["iam:PassRole"],"Resource":"*"}]}`
	p, _ := ParsePolicy([]byte(guide))
	if got := LintPolicy(p); len(got) != 3 {
		t.Errorf("guide policy: %d findings, want 3 (BatchGetImage on *, PassRole on *, PassRole unconditioned): %q", len(got), got)
	}
}

func TestCodeDeployNeedsCatchTheGuidesFailures(t *testing.T) {
	n := NamesFor(testSpec())
	// The guide's CodeDeploy role before Q3-Q5: ECS service calls only.
	before, _ := ParsePolicy([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:DescribeServices","iam:PassRole"],"Resource":"*"}]}`))
	miss := map[string]bool{}
	for _, m := range Missing(before, n.CodeDeployNeeds()) {
		miss[m.Action] = true
	}
	for _, a := range []string{"s3:GetObject", "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule", "ecs:CreateTaskSet", "ecs:DeleteTaskSet", "ecs:UpdateServicePrimaryTaskSet"} {
		if !miss[a] {
			t.Errorf("%s not reported missing", a)
		}
	}
	if miss["ecs:DescribeServices"] || miss["iam:PassRole"] {
		t.Errorf("granted actions reported missing: %v", miss)
	}
	// Wildcards a user wrote still count as granted.
	broad, _ := ParsePolicy([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:*","elasticloadbalancing:*","s3:Get*","iam:PassRole"],"Resource":"*"}]}`))
	if m := Missing(broad, n.CodeDeployNeeds()); len(m) != 0 {
		t.Errorf("broad policy misses %v", m)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		ok   bool
	}{
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y", true},
		{"arn:aws:s3:::b", "arn:aws:s3:::b/x", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*", "", true},
		{"x*y*z", "xAAyBBz", true},
		{"x*y*z", "xAAyBB", false},
	} {
		if got := globMatch(tc.p, tc.s); got != tc.ok {
			t.Errorf("globMatch(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["a","b"]}]}`))
	f.Add([]byte(`{"Statement":[{"Principal":"*","Action":["*"],"Condition":{"StringEquals":{"k":"v"}}}]}`))
	f.Add([]byte(`{"Statement":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data)
		if err != nil {
			return
		}
		LintPolicy(p)
		LintTrust(p)
		Grants(p, "s3:GetObject", "arn:aws:s3:::b/k")
	})
}
