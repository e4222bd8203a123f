package githubapi

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-github/v89/github"
)

// RulesetOptions are the guide's protection (§4.1.1, §6.4) for one
// repository; config fills them from the release section.
type RulesetOptions struct {
	Main, Develop string
	// TagPrefix starts every release tag; empty means bare versions.
	TagPrefix string
	// StatusChecks must pass before a pull request into main or develop
	// merges; none means no status-check rule.
	StatusChecks []string
	// Approvals a pull request needs; at least 1.
	Approvals int
	// SignedCommits requires signed commits on main.
	SignedCommits bool
	// AnyoneCreatesTags lifts the restriction that only repository admins
	// (who run the release) create release tags.
	AnyoneCreatesTags bool
}

// adminRole is the id GitHub gives the repository admin role as a
// ruleset bypass actor.
const adminRole = 5

// Ruleset names: canaryflow owns the rulesets with these names and leaves
// every other ruleset of the repository alone.
const (
	namePrefix = "canaryflow: "
)

// Rulesets are the repository rulesets the guide asks for, in the order
// they are applied: main, develop, release tags (never updated or
// deleted), and release tag creation (repository admins only, unless
// AnyoneCreatesTags). Nobody bypasses the first three (the guide:
// "Include administrators").
//
// main and develop take pull requests merged with a merge commit only, as
// flow merges (--no-ff); linear history, which forbids merge commits, is
// left out for that reason.
func Rulesets(o RulesetOptions) []github.RepositoryRuleset {
	approvals := max(o.Approvals, 1)
	checks := func() *github.RequiredStatusChecksRuleParameters {
		if len(o.StatusChecks) == 0 {
			return nil
		}
		p := &github.RequiredStatusChecksRuleParameters{StrictRequiredStatusChecksPolicy: true}
		for _, c := range o.StatusChecks {
			p.RequiredStatusChecks = append(p.RequiredStatusChecks, &github.RuleStatusCheck{Context: c})
		}
		return p
	}
	branch := func(name string, pr *github.PullRequestRuleParameters, signed bool) github.RepositoryRuleset {
		rules := &github.RepositoryRulesetRules{
			Deletion:             &github.EmptyRuleParameters{},
			NonFastForward:       &github.EmptyRuleParameters{},
			PullRequest:          pr,
			RequiredStatusChecks: checks(),
		}
		if signed {
			rules.RequiredSignatures = &github.EmptyRuleParameters{}
		}
		return github.RepositoryRuleset{
			Name:        namePrefix + name,
			Target:      github.Ptr(github.RulesetTargetBranch),
			Enforcement: github.RulesetEnforcementActive,
			Conditions: &github.RepositoryRulesetConditions{RefName: &github.RepositoryRulesetRefConditionParameters{
				Include: []string{"refs/heads/" + name}, Exclude: []string{},
			}},
			BypassActors: []*github.BypassActor{},
			Rules:        rules,
		}
	}
	mainRS := branch(o.Main, &github.PullRequestRuleParameters{
		AllowedMergeMethods:            []github.PullRequestMergeMethod{github.PullRequestMergeMethodMerge},
		DismissStaleReviewsOnPush:      true,
		RequireCodeOwnerReview:         true,
		RequiredApprovingReviewCount:   approvals,
		RequiredReviewThreadResolution: true,
	}, o.SignedCommits)
	developRS := branch(o.Develop, &github.PullRequestRuleParameters{
		AllowedMergeMethods:            []github.PullRequestMergeMethod{github.PullRequestMergeMethodMerge},
		RequiredApprovingReviewCount:   approvals,
		RequiredReviewThreadResolution: true,
	}, false)
	tags := github.RepositoryRuleset{
		Name:        namePrefix + "release tags",
		Target:      github.Ptr(github.RulesetTargetTag),
		Enforcement: github.RulesetEnforcementActive,
		Conditions: &github.RepositoryRulesetConditions{RefName: &github.RepositoryRulesetRefConditionParameters{
			Include: []string{"refs/tags/" + o.TagPrefix + "*"}, Exclude: []string{},
		}},
		BypassActors: []*github.BypassActor{},
		Rules: &github.RepositoryRulesetRules{
			Update:   &github.UpdateRuleParameters{},
			Deletion: &github.EmptyRuleParameters{},
		},
	}
	out := []github.RepositoryRuleset{mainRS, developRS, tags}
	if !o.AnyoneCreatesTags {
		// A ruleset of its own: its bypass (admins create release tags)
		// must not reach the rule above that nobody moves or deletes one.
		out = append(out, github.RepositoryRuleset{
			Name:        namePrefix + "release tag creation",
			Target:      github.Ptr(github.RulesetTargetTag),
			Enforcement: github.RulesetEnforcementActive,
			Conditions:  tags.Conditions,
			BypassActors: []*github.BypassActor{{
				ActorID: github.Ptr(int64(adminRole)), ActorType: github.Ptr(github.BypassActorTypeRepositoryRole), BypassMode: github.Ptr(github.BypassModeAlways),
			}},
			Rules: &github.RepositoryRulesetRules{Creation: &github.EmptyRuleParameters{}},
		})
	}
	return out
}

// Action is one step of a plan: create a ruleset, update one, or leave it.
type Action struct {
	// Op is "create", "update", "delete" (a canaryflow ruleset the
	// configuration no longer asks for) or "none".
	Op   string `json:"op"`
	Name string `json:"name"`
	// ID is the existing ruleset's id; 0 for a create.
	ID int64 `json:"id,omitempty"`
	// Want is what the ruleset should be; Have what it is (nil: absent).
	Want github.RepositoryRuleset  `json:"-"`
	Have *github.RepositoryRuleset `json:"-"`
	// Diff lists the differences, one "- have" / "+ want" line each.
	Diff []string `json:"diff,omitempty"`
}

// Request is an API request as -o json shows it.
type Request struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   any    `json:"body,omitempty"`
}

// Request is the API request that carries the action out; nil for "none".
func (a Action) Request(owner, repo string) *Request {
	switch a.Op {
	case "create":
		return &Request{Method: "POST", Path: fmt.Sprintf("/repos/%s/%s/rulesets", owner, repo), Body: a.Want}
	case "update":
		return &Request{Method: "PUT", Path: fmt.Sprintf("/repos/%s/%s/rulesets/%d", owner, repo, a.ID), Body: a.Want}
	case "delete":
		return &Request{Method: "DELETE", Path: fmt.Sprintf("/repos/%s/%s/rulesets/%d", owner, repo, a.ID)}
	}
	return nil
}

// Plan compares the rulesets on GitHub with want, by name. It only reads.
func (c *Client) Plan(ctx context.Context, want []github.RepositoryRuleset) ([]Action, error) {
	doing := "list the rulesets of " + c.owner + "/" + c.repo
	existing := map[string]int64{}
	opts := &github.RepositoryListRulesetsOptions{IncludesParents: github.Ptr(false), ListOptions: github.ListOptions{PerPage: 100}}
	for {
		page, resp, err := c.gh.Repositories.GetAllRulesets(ctx, c.owner, c.repo, opts)
		if err != nil {
			return nil, c.explain(doing, err)
		}
		for _, rs := range page {
			existing[rs.Name] = rs.GetID()
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	var plan []Action
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w.Name] = true
	}
	for _, w := range want {
		id, ok := existing[w.Name]
		if !ok {
			plan = append(plan, Action{Op: "create", Name: w.Name, Want: w, Diff: prefixLines("+ ", canonical(&w))})
			continue
		}
		have, _, err := c.gh.Repositories.GetRuleset(ctx, c.owner, c.repo, id, false)
		if err != nil {
			return nil, c.explain(fmt.Sprintf("read ruleset %q of %s/%s", w.Name, c.owner, c.repo), err)
		}
		a := Action{Op: "none", Name: w.Name, ID: id, Want: w, Have: have}
		if d := diff(canonical(have), canonical(&w)); len(d) > 0 {
			a.Op, a.Diff = "update", d
		}
		plan = append(plan, a)
	}
	var gone []string
	for name := range existing {
		if strings.HasPrefix(name, namePrefix) && !wanted[name] {
			gone = append(gone, name)
		}
	}
	sort.Strings(gone)
	for _, name := range gone {
		plan = append(plan, Action{Op: "delete", Name: name, ID: existing[name], Diff: []string{"- (the whole ruleset: the configuration no longer asks for it)"}})
	}
	return plan, nil
}

// Apply carries out the plan's creates, updates and deletes, in order.
func (c *Client) Apply(ctx context.Context, plan []Action) error {
	for i, a := range plan {
		var err error
		switch a.Op {
		case "create":
			var rs *github.RepositoryRuleset
			rs, _, err = c.gh.Repositories.CreateRuleset(ctx, c.owner, c.repo, a.Want)
			if err == nil {
				plan[i].ID = rs.GetID()
			}
		case "update":
			_, _, err = c.gh.Repositories.UpdateRuleset(ctx, c.owner, c.repo, a.ID, a.Want)
		case "delete":
			_, err = c.gh.Repositories.DeleteRuleset(ctx, c.owner, c.repo, a.ID)
		default:
			continue
		}
		if err != nil {
			return c.explain(fmt.Sprintf("%s ruleset %q on %s/%s", a.Op, a.Name, c.owner, c.repo), err)
		}
	}
	return nil
}

// serverFields are set by GitHub, never by canaryflow: they take no part
// in the comparison.
var serverFields = []string{"id", "node_id", "_links", "created_at", "updated_at", "source", "source_type", "current_user_can_bypass"}

// canonical is a ruleset as sorted "path = value" lines, the fields that
// GitHub sets and the empty ones left out, so what GitHub answers and what
// canaryflow sends compare equal when they mean the same.
func canonical(rs *github.RepositoryRuleset) []string {
	b, err := json.Marshal(rs)
	if err != nil {
		return []string{"(unreadable: " + err.Error() + ")"}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return []string{"(unreadable: " + err.Error() + ")"}
	}
	for _, k := range serverFields {
		delete(m, k)
	}
	var lines []string
	flatten("", m, &lines)
	sort.Strings(lines)
	return lines
}

func flatten(path string, v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			flatten(p, e, out)
		}
	case []any:
		if len(x) == 0 {
			return
		}
		if path == "rules" {
			// Rules are a list of {type, parameters}: keyed by type.
			for _, e := range x {
				if r, ok := e.(map[string]any); ok {
					t, _ := r["type"].(string)
					params, _ := r["parameters"].(map[string]any)
					*out = append(*out, "rules."+t)
					flatten("rules."+t, params, out)
				}
			}
			return
		}
		parts := make([]string, len(x))
		for i, e := range x {
			b, _ := json.Marshal(e)
			parts[i] = string(b)
		}
		sort.Strings(parts)
		*out = append(*out, path+" = ["+strings.Join(parts, ", ")+"]")
	case nil:
	case bool:
		if x {
			*out = append(*out, fmt.Sprintf("%s = true", path))
		}
	default:
		b, _ := json.Marshal(x)
		*out = append(*out, path+" = "+string(b))
	}
}

// diff lists the lines only in have ("- ") and only in want ("+ ").
func diff(have, want []string) []string {
	in := func(xs []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	h, w := in(have), in(want)
	var out []string
	for _, x := range have {
		if !w[x] {
			out = append(out, "- "+x)
		}
	}
	for _, x := range want {
		if !h[x] {
			out = append(out, "+ "+x)
		}
	}
	return out
}

func prefixLines(p string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = p + l
	}
	return out
}
