package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Change is what apply would do to one resource.
type Change string

// Changes, as plan prints them.
const (
	ChangeNone   Change = "unchanged"
	ChangeCreate Change = "create"
	ChangeUpdate Change = "update"
	// ChangeManual is a step only a person can take (approving a GitHub
	// connection in the console).
	ChangeManual Change = "manual"
)

// state is what a resource looks like in the account.
type state struct {
	exists  bool
	managed bool   // carries canaryflow's tags
	current string // fingerprint of the managed fields
	// pending, when set, says what a person must do before the resource
	// is usable (a connection waiting for approval); apply calls update,
	// which waits for it.
	pending string
}

// resource is one AWS resource in dependency order: read records the
// identifiers AWS assigned (into the blueprint's Live) so later resources
// can refer to them.
type resource struct {
	kind, name string
	read       func(ctx context.Context) (state, error)
	desired    func() string
	create     func(ctx context.Context) error
	update     func(ctx context.Context) error // nil: never changed in place
	remove     func(ctx context.Context) error // nil: destroy leaves it
	note       string                          // shown with a manual change
}

// PlanItem is one line of a plan.
type PlanItem struct {
	Kind, Name string
	Change     Change
	Detail     string
}

func (p PlanItem) String() string {
	s := fmt.Sprintf("%-9s %-22s %s", p.Change, p.Kind, p.Name)
	if p.Detail != "" {
		s += "  (" + p.Detail + ")"
	}
	return s
}

// Plan is what apply would do, in order.
type Plan struct {
	Items []PlanItem
}

// Changes counts the items that are not unchanged.
func (p *Plan) Changes() int {
	n := 0
	for _, it := range p.Items {
		if it.Change != ChangeNone {
			n++
		}
	}
	return n
}

// Write prints the plan.
func (p *Plan) Write(w io.Writer) {
	for _, it := range p.Items {
		fmt.Fprintln(w, it)
	}
	if p.Changes() == 0 {
		fmt.Fprintln(w, "No changes: everything is as canaryflow.yaml describes.")
		return
	}
	fmt.Fprintf(w, "%d to change, %d unchanged.\n", p.Changes(), len(p.Items)-p.Changes())
}

// ErrNotManaged is returned when a resource canaryflow would change exists
// but was not created by canaryflow.
var ErrNotManaged = errors.New("exists but was not created by canaryflow")

// Provisioner plans, applies and destroys one spec's resources.
type Provisioner struct {
	c    *Clients
	b    *blueprint
	out  io.Writer
	opts ProvisionOptions
	list []resource
}

// ProvisionOptions configure a Provisioner.
type ProvisionOptions struct {
	// Image is the image the first task definition runs. Zero means the
	// repository's :latest, which exists after the first pipeline run.
	Image string
	// Out receives progress lines; nil discards them.
	Out io.Writer
	// ConnectionWait is how long apply waits for a person to approve the
	// GitHub connection it created (or found pending). Zero means apply
	// stops at once with where to approve it (ErrManualStep); the next
	// apply finds the connection by name and goes on.
	ConnectionWait time.Duration
	// PollInterval is how often that wait asks. Zero means 10s.
	PollInterval time.Duration
	// Clock times the wait. Nil means the wall clock.
	Clock Clock
}

// NewProvisioner prepares the resources of s; s must name its region and
// account (see Discover).
func NewProvisioner(c *Clients, s Spec, o ProvisionOptions) (*Provisioner, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	p := &Provisioner{c: c, b: newBlueprint(s, Live{}), out: o.Out, opts: o}
	p.list = p.resources(o.Image)
	return p, nil
}

// Live returns the identifiers read or created so far.
func (p *Provisioner) Live() Live { return p.b.live }

// Plan reads every resource and says what apply would change.
func (p *Provisioner) Plan(ctx context.Context) (*Plan, error) {
	plan := &Plan{}
	for _, r := range p.list {
		st, err := r.read(ctx)
		if err != nil {
			return nil, fmt.Errorf("read %s %s: %w", r.kind, r.name, err)
		}
		it := PlanItem{Kind: r.kind, Name: r.name}
		switch {
		case r.create == nil && !st.exists:
			it.Change, it.Detail = ChangeManual, r.note
		case st.pending != "":
			it.Change, it.Detail = ChangeManual, st.pending
		case !st.exists:
			it.Change = ChangeCreate
		case r.desired != nil && st.current != r.desired():
			it.Change = ChangeUpdate
			it.Detail = diffFingerprint(st.current, r.desired())
			if r.update == nil {
				it.Detail += "; canaryflow does not change this in place: destroy and apply again"
			}
			if !st.managed {
				it.Detail += "; not created by canaryflow, left as it is"
			}
		default:
			it.Change = ChangeNone
		}
		plan.Items = append(plan.Items, it)
	}
	return plan, nil
}

// Apply creates or updates every resource in dependency order, printing a
// line per step. Resources that are as desired are left alone, so a second
// apply changes nothing.
func (p *Provisioner) Apply(ctx context.Context) error {
	total := len(p.list)
	for i, r := range p.list {
		st, err := r.read(ctx)
		if err != nil {
			return fmt.Errorf("read %s %s: %w", r.kind, r.name, err)
		}
		prefix := fmt.Sprintf("[%2d/%d]", i+1, total)
		switch {
		case !st.exists && r.create == nil:
			fmt.Fprintf(p.out, "%s %s %s: %s\n", prefix, r.kind, r.name, r.note)
			return fmt.Errorf("%s %s: %w", r.kind, r.name, ErrManualStep)
		case !st.exists:
			fmt.Fprintf(p.out, "%s create %s %s\n", prefix, r.kind, r.name)
			if err := r.create(ctx); err != nil {
				return fmt.Errorf("create %s %s: %w", r.kind, r.name, err)
			}
		case st.pending != "" && r.update != nil:
			fmt.Fprintf(p.out, "%s wait   %s %s\n", prefix, r.kind, r.name)
			if err := r.update(ctx); err != nil {
				return fmt.Errorf("%s %s: %w", r.kind, r.name, err)
			}
		case r.desired != nil && st.current != r.desired() && r.update != nil && st.managed:
			fmt.Fprintf(p.out, "%s update %s %s (%s)\n", prefix, r.kind, r.name, diffFingerprint(st.current, r.desired()))
			if err := r.update(ctx); err != nil {
				return fmt.Errorf("update %s %s: %w", r.kind, r.name, err)
			}
		case r.desired != nil && st.current != r.desired() && !st.managed:
			return fmt.Errorf("%s %s %w; rename the service or remove it", r.kind, r.name, ErrNotManaged)
		default:
			fmt.Fprintf(p.out, "%s ok     %s %s\n", prefix, r.kind, r.name)
		}
	}
	return nil
}

// ErrManualStep stops apply at a step a person must do.
var ErrManualStep = errors.New("needs a manual step")

// Destroy removes, in reverse order, the resources canaryflow created
// (those carrying its tags); anything else is reported and left.
func (p *Provisioner) Destroy(ctx context.Context) error {
	// Read forward first: later resources need earlier identifiers.
	states := make([]state, len(p.list))
	for i, r := range p.list {
		st, err := r.read(ctx)
		if err != nil {
			return fmt.Errorf("read %s %s: %w", r.kind, r.name, err)
		}
		states[i] = st
	}
	var errs []error
	for i := len(p.list) - 1; i >= 0; i-- {
		r, st := p.list[i], states[i]
		prefix := fmt.Sprintf("[%2d/%d]", len(p.list)-i, len(p.list))
		switch {
		case !st.exists:
			continue
		case r.remove == nil:
			fmt.Fprintf(p.out, "%s keep   %s %s\n", prefix, r.kind, r.name)
		case !st.managed:
			fmt.Fprintf(p.out, "%s keep   %s %s (not created by canaryflow)\n", prefix, r.kind, r.name)
		default:
			fmt.Fprintf(p.out, "%s delete %s %s\n", prefix, r.kind, r.name)
			if err := r.remove(ctx); err != nil {
				errs = append(errs, fmt.Errorf("delete %s %s: %w", r.kind, r.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// fingerprint joins key=value pairs in a stable order.
func fingerprint(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+"="+kv[i+1])
	}
	slices.Sort(parts)
	return strings.Join(parts, "\n")
}

// diffFingerprint names the keys whose values differ.
func diffFingerprint(cur, want string) string {
	get := func(s string) map[string]string {
		m := map[string]string{}
		for _, l := range strings.Split(s, "\n") {
			k, v, _ := strings.Cut(l, "=")
			m[k] = v
		}
		return m
	}
	a, b := get(cur), get(want)
	var keys []string
	for k, v := range b {
		if a[k] != v {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		return "differs"
	}
	return strings.Join(keys, ", ") + " differ"
}
