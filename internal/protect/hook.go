// Package protect makes the guide's branch protection (§4.1.1, §6.4) real
// on a local origin, the bare repository the demo and the local pipeline
// push to: a pre-receive hook (`canaryflow hook pre-receive`) refuses any
// push that breaks the Rules. main and develop move only by merges, never
// by force; release tags are strict SemVer on main and are never moved or
// deleted. It also reads remote URLs, to tell a local origin from GitHub
// (whose rulesets are package githubapi's).
package protect

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/canaryflow/canaryflow/internal/flow"
	"github.com/canaryflow/canaryflow/internal/git"
)

// Rules name what is protected. Every field but TagPrefix must be set
// (config applies the defaults); an empty TagPrefix means release tags are
// bare versions, so every tag must be one.
type Rules struct {
	Main      string
	Develop   string
	TagPrefix string
}

// Validate reports rules that cannot protect anything.
func (r Rules) Validate() error {
	if r.Main == "" || r.Develop == "" {
		return fmt.Errorf("protect rules: main and develop branches must be named")
	}
	if r.Main == r.Develop {
		return fmt.Errorf("protect rules: main and develop are both %q", r.Main)
	}
	return nil
}

// Update is one line of what git hands a pre-receive hook: a ref moving
// from Old to New. An all-zero name means the ref does not exist on that
// side (created, or deleted).
type Update struct {
	Old, New, Ref string
}

// Created reports whether the ref is new.
func (u Update) Created() bool { return isZero(u.Old) }

// Deleted reports whether the ref is being removed.
func (u Update) Deleted() bool { return isZero(u.New) }

func isZero(sha string) bool { return strings.Trim(sha, "0") == "" }

// maxUpdateLines bounds what ParseUpdates reads: a push of more refs than
// this is refused rather than read without end.
const maxUpdateLines = 10000

// ParseUpdates reads pre-receive input: one "OLD NEW REF" line per ref.
// Anything else is an error, so the hook refuses what it cannot read.
func ParseUpdates(r io.Reader) ([]Update, error) {
	var ups []Update
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	n := 0
	for sc.Scan() {
		n++
		if n > maxUpdateLines {
			return nil, fmt.Errorf("pre-receive input: more than %d refs in one push", maxUpdateLines)
		}
		line := sc.Text()
		if line == "" {
			continue
		}
		f := strings.Split(line, " ")
		if len(f) != 3 || !isObjectName(f[0]) || !isObjectName(f[1]) || len(f[0]) != len(f[1]) || !strings.HasPrefix(f[2], "refs/") {
			return nil, fmt.Errorf("pre-receive input line %d: want \"OLD NEW REF\", got %q", n, clip(line))
		}
		ups = append(ups, Update{Old: f[0], New: f[1], Ref: f[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pre-receive input: %w", err)
	}
	return ups, nil
}

// isObjectName accepts SHA-1 and SHA-256 object names in lower-case hex.
func isObjectName(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Refusal is one ref the hook will not accept: which rule, and what to do
// instead.
type Refusal struct {
	Ref  string
	Rule string
	Fix  string
}

func (r Refusal) String() string {
	return fmt.Sprintf("%s: refused by rule %q\n  %s", r.Ref, r.Rule, r.Fix)
}

// Rule names, as refusals print them and the README lists them.
const (
	RuleNoDelete     = "protected branches are never deleted"
	RuleNoForce      = "no force push to protected branches"
	RuleMergeOnly    = "protected branches advance only by merge commits"
	RuleTagSemVer    = "release tags are strict SemVer"
	RuleTagOnMain    = "release tags point at a commit on main"
	RuleTagImmutable = "release tags are never moved or deleted"
)

// Check decides every update of one push against the rules; repo is the
// receiving repository (the hook's working directory, where the pushed
// objects are visible). An empty result accepts the push.
func Check(ctx context.Context, repo *git.Repo, rules Rules, ups []Update) ([]Refusal, error) {
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	// A tag pushed with main in one atomic push is checked against the new
	// main, as flow's finish --push sends them.
	mainTip := ""
	for _, u := range ups {
		if u.Ref == "refs/heads/"+rules.Main && !u.Deleted() {
			mainTip = u.New
		}
	}
	var out []Refusal
	for _, u := range ups {
		var r *Refusal
		var err error
		switch {
		case u.Ref == "refs/heads/"+rules.Main || u.Ref == "refs/heads/"+rules.Develop:
			r, err = checkBranch(ctx, repo, rules, u)
		case strings.HasPrefix(u.Ref, "refs/tags/"+rules.TagPrefix):
			r, err = checkTag(ctx, repo, rules, u, mainTip)
		}
		if err != nil {
			return nil, err
		}
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, nil
}

func checkBranch(ctx context.Context, repo *git.Repo, rules Rules, u Update) (*Refusal, error) {
	branch := strings.TrimPrefix(u.Ref, "refs/heads/")
	switch {
	case u.Deleted():
		return &Refusal{Ref: u.Ref, Rule: RuleNoDelete,
			Fix: fmt.Sprintf("%s stays; delete feature, release and hotfix branches instead", branch)}, nil
	case u.Created():
		// The first push of main and develop creates them (flow init).
		return nil, nil
	}
	ff, err := repo.IsAncestor(ctx, u.Old, u.New)
	if err != nil {
		return nil, err
	}
	if !ff {
		return &Refusal{Ref: u.Ref, Rule: RuleNoForce,
			Fix: fmt.Sprintf("%s has commits you do not have: git pull --no-rebase origin %s, then push again (never --force)", branch, branch)}, nil
	}
	direct, err := repo.Lines(ctx, "rev-list", "--first-parent", "--no-merges", "--format=%h %s", "--no-commit-header", u.Old+".."+u.New)
	if err != nil {
		return nil, err
	}
	if len(direct) == 0 {
		return nil, nil
	}
	via := "canaryflow flow feature start NAME … flow feature finish"
	if branch == rules.Main {
		via = "canaryflow flow release|hotfix start … finish --push (or a pull request)"
	}
	return &Refusal{Ref: u.Ref, Rule: RuleMergeOnly,
		Fix: fmt.Sprintf("%d commit(s) would land on %s directly (first: %s); move them to a branch and merge it: %s",
			len(direct), branch, clip(direct[len(direct)-1]), via)}, nil
}

func checkTag(ctx context.Context, repo *git.Repo, rules Rules, u Update, mainTip string) (*Refusal, error) {
	tag := strings.TrimPrefix(u.Ref, "refs/tags/")
	if !u.Created() {
		what := "moved"
		if u.Deleted() {
			what = "deleted"
		}
		return &Refusal{Ref: u.Ref, Rule: RuleTagImmutable,
			Fix: fmt.Sprintf("%s is a release and cannot be %s; release a new version instead: canaryflow flow hotfix start", tag, what)}, nil
	}
	if _, ok := flow.ParseTagVersion(rules.TagPrefix, tag); !ok {
		return &Refusal{Ref: u.Ref, Rule: RuleTagSemVer,
			Fix: fmt.Sprintf("a tag starting with %q must be %sMAJOR.MINOR.PATCH (e.g. %s1.2.3); name other tags without that prefix", rules.TagPrefix, rules.TagPrefix, rules.TagPrefix)}, nil
	}
	onMain := false
	commit, ok, err := repo.RevParse(ctx, u.New)
	if err != nil {
		return nil, err
	}
	if ok {
		tip := mainTip
		if tip == "" {
			if tip, ok, err = repo.RevParse(ctx, "refs/heads/"+rules.Main); err != nil {
				return nil, err
			}
		}
		if tip != "" {
			if onMain, err = repo.IsAncestor(ctx, commit, tip); err != nil {
				return nil, err
			}
		}
	}
	if !onMain {
		return &Refusal{Ref: u.Ref, Rule: RuleTagOnMain,
			Fix: fmt.Sprintf("merge the release into %s and tag %s there (canaryflow flow release finish --push, or release tag after the pull request)", rules.Main, rules.Main)}, nil
	}
	return nil, nil
}

// ErrRefused is a push the hook turned away; the refusals were printed.
var ErrRefused = errors.New("push refused by the protection rules (nothing was changed)")

// PreReceive is the hook: it reads the push from in, checks it in the
// receiving repository dir and prints each refusal, with its fix, to
// errOut. It returns ErrRefused when anything was refused, so git turns
// the whole push away.
func PreReceive(ctx context.Context, dir string, rules Rules, in io.Reader, errOut io.Writer) error {
	ups, err := ParseUpdates(in)
	if err != nil {
		return err
	}
	refused, err := Check(ctx, &git.Repo{Dir: dir}, rules, ups)
	if err != nil {
		return err
	}
	for _, r := range refused {
		fmt.Fprintln(errOut, r.String())
	}
	if len(refused) > 0 {
		return ErrRefused
	}
	return nil
}
