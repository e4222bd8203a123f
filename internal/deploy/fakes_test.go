package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/store"
)

// fakeRuntime keeps tasks in memory; an endpoint is image#taskID so the
// fake router can tell which image serves it.
type fakeRuntime struct {
	mu        sync.Mutex
	tasks     map[string]Task
	starts    map[string]int
	stops     map[string]int
	failImage map[string]bool
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{tasks: map[string]Task{}, starts: map[string]int{}, stops: map[string]int{}, failImage: map[string]bool{}}
}

func (f *fakeRuntime) Start(_ context.Context, spec TaskSpec) (Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failImage[spec.Revision.Image] {
		return Task{}, fmt.Errorf("image %s: exec format error", spec.Revision.Image)
	}
	if t, ok := f.tasks[spec.ID]; ok && t.Running {
		return t, nil
	}
	f.starts[spec.ID]++
	t := Task{ID: spec.ID, Endpoint: spec.Revision.Image + "#" + spec.ID, Running: true}
	f.tasks[spec.ID] = t
	return t, nil
}

func (f *fakeRuntime) Stop(_ context.Context, id string, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.tasks[id]; ok && t.Running {
		f.stops[id]++
		t.Running = false
		f.tasks[id] = t
	}
	return nil
}

func (f *fakeRuntime) Inspect(_ context.Context, id string) (Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[id]
	if !ok {
		return Task{}, ErrTaskNotFound
	}
	return t, nil
}

// running lists the images of running tasks, e.g. "v1 v1".
func (f *fakeRuntime) running() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, t := range f.tasks {
		if t.Running {
			out = append(out, strings.SplitN(t.Endpoint, "#", 2)[0])
		}
	}
	return out
}

// fakeTraffic is an in-memory router with simulated load: rps requests a
// second reach production, split by the weights; an image in errRate
// fails that share of them.
type fakeTraffic struct {
	mu        sync.Mutex
	groups    map[string][]string
	weights   Weights
	test      string
	rps       float64
	errRate   map[string]float64
	unhealthy map[string]bool
	counters  map[string]*[2]float64
	last      time.Time
	calls     []string
	weightLog []Weights
	// onMetrics, if set, is called at the start of each Metrics call.
	onMetrics func()
	// onSetWeights, if set, is called first by each SetWeights call; an
	// error it returns is SetWeights' and the weights stay as they were.
	onSetWeights func(ctx context.Context, w Weights) error
}

func newFakeTraffic(rps float64) *fakeTraffic {
	return &fakeTraffic{groups: map[string][]string{}, rps: rps, errRate: map[string]float64{},
		unhealthy: map[string]bool{}, counters: map[string]*[2]float64{}}
}

// setRPS changes the simulated load while the controller reads it.
func (f *fakeTraffic) setRPS(rps float64) {
	f.mu.Lock()
	f.rps = rps
	f.mu.Unlock()
}

func (f *fakeTraffic) image(tg string) string {
	if eps := f.groups[tg]; len(eps) > 0 {
		return strings.SplitN(eps[0], "#", 2)[0]
	}
	return ""
}

// advance adds the requests served since the last call.
func (f *fakeTraffic) advance() {
	now := time.Now()
	if !f.last.IsZero() {
		dt := now.Sub(f.last).Seconds()
		share := map[string]float64{f.weights.Blue: float64(100-f.weights.GreenPercent) / 100}
		if f.weights.Green != "" {
			share[f.weights.Green] = float64(f.weights.GreenPercent) / 100
		}
		for tg, s := range share {
			if _, ok := f.groups[tg]; !ok || s == 0 {
				continue
			}
			c := f.counters[tg]
			if c == nil {
				c = &[2]float64{}
				f.counters[tg] = c
			}
			n := f.rps * dt * s
			c[0] += n
			c[1] += n * f.errRate[f.image(tg)]
		}
	}
	f.last = now
}

func (f *fakeTraffic) Register(_ context.Context, service, tg string, endpoints []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	f.groups[tg] = append([]string(nil), endpoints...)
	f.calls = append(f.calls, "register "+tg)
	return nil
}

func (f *fakeTraffic) Deregister(_ context.Context, service, tg string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	delete(f.groups, tg)
	f.calls = append(f.calls, "deregister "+tg)
	return nil
}

func (f *fakeTraffic) SetWeights(ctx context.Context, w Weights) error {
	f.mu.Lock()
	hook := f.onSetWeights
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, w); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	f.weights = w
	f.weightLog = append(f.weightLog, w)
	f.calls = append(f.calls, fmt.Sprintf("weights %s/%s %d", w.Blue, w.Green, w.GreenPercent))
	return nil
}

func (f *fakeTraffic) SetTestTarget(_ context.Context, service, tg string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.test = tg
	f.calls = append(f.calls, "test "+tg)
	return nil
}

func (f *fakeTraffic) Metrics(_ context.Context, service, tg string) (Metrics, error) {
	f.mu.Lock()
	on := f.onMetrics
	f.mu.Unlock()
	if on != nil {
		on()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	m := Metrics{}
	if c := f.counters[tg]; c != nil {
		m.Requests, m.Errors = uint64(c[0]), uint64(c[1])
	}
	n := len(f.groups[tg])
	if f.unhealthy[f.image(tg)] {
		m.Unhealthy = n
	} else {
		m.Healthy = n
	}
	return m, nil
}

func (f *fakeTraffic) state() (Weights, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.weights, f.test
}

// fakeHooks records each hook run; fail makes an event's hook fail and
// block makes it run until cancelled.
type fakeHooks struct {
	mu    sync.Mutex
	runs  map[string]int
	fail  map[string]bool
	block map[string]bool
	order []string
}

func newFakeHooks() *fakeHooks {
	return &fakeHooks{runs: map[string]int{}, fail: map[string]bool{}, block: map[string]bool{}}
}

func (f *fakeHooks) RunHook(ctx context.Context, call HookCall) error {
	f.mu.Lock()
	f.runs[call.Event]++
	f.order = append(f.order, call.Event)
	fail, block := f.fail[call.Event], f.block[call.Event]
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	if fail {
		return errors.New("smoke test: GET / answered 500")
	}
	return nil
}

func (f *fakeHooks) count(event string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs[event]
}

var errCrash = errors.New("simulated crash")

// crashStore commits its n-th Update and then fails it and every later
// one, as if the process died right after that write.
type crashStore struct {
	*store.Store
	mu      sync.Mutex
	n, at   int
	tripped bool
}

func (s *crashStore) Update(fn func(*store.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tripped {
		return errCrash
	}
	s.n++
	if err := s.Store.Update(fn); err != nil {
		return err
	}
	if s.at > 0 && s.n >= s.at {
		s.tripped = true
		return errCrash
	}
	return nil
}

// env is one controller over one database file with fakes around it.
type env struct {
	t     *testing.T
	path  string
	st    *crashStore
	rt    *fakeRuntime
	tr    *fakeTraffic
	hooks *fakeHooks
	c     *Controller
	ctx   context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "canaryflow.db"), rt: newFakeRuntime(),
		tr: newFakeTraffic(1000), hooks: newFakeHooks(), ctx: context.Background()}
	e.open(0)
	return e
}

// open builds a controller over the file, restores and starts it.
func (e *env) open(crashAt int) {
	e.t.Helper()
	s, err := store.Open(e.path, store.Options{NoSync: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.st = &crashStore{Store: s, at: crashAt}
	e.c, err = New(Options{Store: e.st, Traffic: e.tr, Runtime: e.rt, Hooks: e.hooks})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.c.Restore(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	if err := e.c.Start(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// close stops the controller and closes the file, as a dying process would.
func (e *env) close() {
	e.c.Close()
	e.st.Store.Close()
}

// restart simulates a crash and restart: the router comes back empty, the
// runtime keeps its tasks (containers outlive the daemon).
func (e *env) restart(crashAt int) {
	e.close()
	rps := e.tr.rps
	old := e.tr
	e.tr = newFakeTraffic(rps)
	e.tr.errRate, e.tr.unhealthy = old.errRate, old.unhealthy
	e.open(crashAt)
}

func (e *env) register(image string) int {
	e.t.Helper()
	r, err := e.c.RegisterRevision(e.ctx, Revision{Service: "hello", Image: image, Port: 3000})
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Number
}

func (e *env) create(rev int, s Settings) *Deployment {
	e.t.Helper()
	d, err := e.c.Create(e.ctx, CreateRequest{Service: "hello", Revision: rev, Settings: s})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// wait sleeps (in synctest's fake time) until the deployment satisfies ok.
func (e *env) wait(id string, ok func(*Deployment) bool) *Deployment {
	e.t.Helper()
	for range 100000 {
		d, err := e.c.Get(id)
		if err != nil {
			e.t.Fatal(err)
		}
		if ok(d) {
			return d
		}
		time.Sleep(100 * time.Millisecond)
	}
	d, _ := e.c.Get(id)
	e.t.Fatalf("deployment %s never reached the wanted state; last %+v", id, d)
	return nil
}

func (e *env) waitDone(id string) *Deployment {
	return e.wait(id, func(d *Deployment) bool { return d.Done() })
}

func (e *env) events(id string) map[string]string {
	e.t.Helper()
	evs, err := e.c.Events(id)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, ev := range evs {
		out[ev.Name] = ev.Status
	}
	return out
}

func canary(interval time.Duration) awsfmt.TrafficRouting {
	return awsfmt.TrafficRouting{Type: awsfmt.TimeBasedCanary, Percent: 10, Interval: interval}
}

// allHooks configures a hook at each of the five hook events.
func allHooks() map[string]Hook {
	m := map[string]Hook{}
	for _, ev := range awsfmt.HookEvents() {
		m[ev] = Hook{Name: "fn" + ev, Command: []string{"true"}}
	}
	return m
}

func allRollback() []string { return []string{RollbackOnFailure, RollbackOnAlarm, RollbackOnRequest} }

// baseSettings is the guide's canary with hooks and default alarms.
func baseSettings() Settings {
	return Settings{DesiredCount: 2, Strategy: canary(5 * time.Minute), TerminationWait: time.Minute,
		Hooks: allHooks(), AutoRollback: allRollback()}
}
