package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/flow"
	"github.com/canaryflow/canaryflow/internal/githubapi"
)

// rulesetOptions are the rulesets the configuration asks for.
func rulesetOptions(cfg *config.Config) githubapi.RulesetOptions {
	p := cfg.Release.Protect
	return githubapi.RulesetOptions{
		Main: cfg.Release.MainBranch, Develop: cfg.Release.DevelopBranch, TagPrefix: cfg.Release.TagPrefix,
		StatusChecks: p.StatusChecks, Approvals: p.Approvals, SignedCommits: p.SignedCommits,
		AnyoneCreatesTags: p.TagCreators == "anyone",
	}
}

// protectReport is what -o json prints for GitHub.
type protectReport struct {
	Repository string              `json:"repository"`
	Requests   []githubapi.Request `json:"requests"`
	Actions    []githubapi.Action  `json:"actions,omitempty"`
	Changed    bool                `json:"changed"`
}

func protectGitHub(cmd *cobra.Command, cfg *config.Config, owner, name string, pf protectFlags) error {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	full := owner + "/" + name
	want := githubapi.Rulesets(rulesetOptions(cfg))
	token := githubapi.Token(ctx)
	if token == "" {
		if !pf.dryRun {
			return &flow.Error{Msg: githubapi.ErrNoToken.Error() + " (`canaryflow protect --dry-run` prints the rulesets without one)"}
		}
		rep := protectReport{Repository: full, Requests: []githubapi.Request{}}
		for _, w := range want {
			rep.Requests = append(rep.Requests, *githubapi.Action{Op: "create", Want: w}.Request(owner, name))
		}
		if pf.output == "json" {
			return writeJSON(out, rep)
		}
		fmt.Fprintf(out, "No GitHub token, so what exists on %s is unknown; the rulesets canaryflow would create:\n", full)
		for _, r := range rep.Requests {
			b, err := json.MarshalIndent(r.Body, "  ", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\n%s %s\n  %s\n", r.Method, r.Path, b)
		}
		return nil
	}
	c, err := githubapi.New(githubapi.Options{Owner: owner, Repo: name, Token: token})
	if err != nil {
		return err
	}
	if !pf.dryRun && !pf.check {
		if err := c.RequireAdmin(ctx); err != nil {
			return err
		}
	}
	plan, err := c.Plan(ctx, want)
	if err != nil {
		return err
	}
	rep := protectReport{Repository: full, Requests: []githubapi.Request{}, Actions: plan}
	pending := 0
	for _, a := range plan {
		if r := a.Request(owner, name); r != nil {
			rep.Requests = append(rep.Requests, *r)
			pending++
		}
	}
	printPlan := func(verb string) {
		for _, a := range plan {
			switch a.Op {
			case "none":
				fmt.Fprintf(out, "ruleset %q (id %d) is as configured\n", a.Name, a.ID)
			case "create":
				fmt.Fprintf(out, "%s create ruleset %q:\n", verb, a.Name)
			case "update":
				fmt.Fprintf(out, "%s update ruleset %q (id %d):\n", verb, a.Name, a.ID)
			case "delete":
				fmt.Fprintf(out, "%s delete ruleset %q (id %d):\n", verb, a.Name, a.ID)
			}
			for _, d := range a.Diff {
				fmt.Fprintf(out, "  %s\n", d)
			}
		}
	}
	switch {
	case pf.check:
		if pf.output == "json" {
			if err := writeJSON(out, rep); err != nil {
				return err
			}
		} else if pending > 0 {
			printPlan("would")
		}
		if pending > 0 {
			return &flow.Error{Msg: fmt.Sprintf("the rulesets of %s drift from canaryflow.yaml (%d to create, update or delete)", full, pending),
				Hint: "run `canaryflow protect` (with an admin's token) to apply them"}
		}
		if pf.output == "text" {
			fmt.Fprintf(out, "ok: %s is protected as configured (%d rulesets)\n", full, len(plan))
		}
		return nil
	case pf.dryRun:
		if pf.output == "json" {
			return writeJSON(out, rep)
		}
		if pending == 0 {
			fmt.Fprintf(out, "%s is already protected: nothing would change\n", full)
			return nil
		}
		printPlan("would")
		return nil
	}
	if err := c.Apply(ctx, plan); err != nil {
		return err
	}
	rep.Changed = pending > 0
	if pf.output == "json" {
		return writeJSON(out, rep)
	}
	if pending == 0 {
		fmt.Fprintf(out, "%s is already protected: nothing changed\n", full)
		return nil
	}
	for _, a := range plan {
		switch a.Op {
		case "create":
			fmt.Fprintf(out, "created ruleset %q (id %d)\n", a.Name, a.ID)
		case "update":
			fmt.Fprintf(out, "updated ruleset %q (id %d)\n", a.Name, a.ID)
		case "delete":
			fmt.Fprintf(out, "deleted ruleset %q (id %d)\n", a.Name, a.ID)
		}
	}
	fmt.Fprintf(out, "Protected %s: %s and %s take merged pull requests only, release tags %s* are never moved or deleted\n",
		full, cfg.Release.MainBranch, cfg.Release.DevelopBranch, cfg.Release.TagPrefix)
	return nil
}
