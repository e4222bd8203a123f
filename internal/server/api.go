package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/metrics"
	"github.com/canaryflow/canaryflow/internal/proxycmd"
	"github.com/canaryflow/canaryflow/internal/registry"
	"github.com/canaryflow/canaryflow/internal/release"
	"github.com/canaryflow/canaryflow/internal/router"
)

// CreateRequest is the body of POST /v1/deployments: an image, or the
// contents of an appspec.yaml (and optionally a taskdef.json) in AWS's
// formats.
type CreateRequest struct {
	Image       string `json:"image,omitempty"`
	AppSpec     string `json:"appspec,omitempty"`
	AppSpecName string `json:"appspecName,omitempty"` // for error messages
	TaskDef     string `json:"taskdef,omitempty"`
	TaskDefName string `json:"taskdefName,omitempty"`
	// Queue waits behind a deployment in progress instead of refusing.
	Queue bool `json:"queue,omitempty"`
}

// StopRequest is the body of POST /v1/deployments/{id}/stop.
type StopRequest struct {
	Rollback bool `json:"rollback"`
}

// RollbackRequest is the body of POST /v1/rollback; without one the
// service goes back to its previous good revision.
type RollbackRequest struct {
	// To is the version to go back to ("1.2.0" or "v1.2.0", or a
	// revision number).
	To string `json:"to,omitempty"`
}

// DeploymentView is what GET /v1/deployments/{id} answers.
type DeploymentView struct {
	Deployment deploy.Deployment       `json:"deployment"`
	Events     []deploy.LifecycleEvent `json:"lifecycleEvents"`
	Traffic    *TrafficView            `json:"traffic,omitempty"`
	// Image is the image of the revision deployed and PreviousImage that
	// of the revision live when it started, so a reader sees versions,
	// not only revision numbers; empty when the revision is unknown.
	Image         string `json:"image,omitempty"`
	PreviousImage string `json:"previousImage,omitempty"`
}

// TrafficView is the router's current split and each version's counters
// (cumulative; a client diffs two readings for rates).
type TrafficView struct {
	GreenPercent float64   `json:"greenPercent"`
	Blue         GroupView `json:"blue"`
	Green        GroupView `json:"green"`
}

// GroupView is one target group's counters.
type GroupView struct {
	TaskSet   string `json:"taskSet,omitempty"`
	Revision  int    `json:"revision,omitempty"`
	Requests  uint64 `json:"requests"`
	Errors    uint64 `json:"errors"`
	Healthy   int    `json:"healthy"`
	Unhealthy int    `json:"unhealthy"`
}

// StatusView is what GET /v1/status answers.
type StatusView struct {
	Services []deploy.ServiceStatus `json:"services"`
	Traffic  TrafficView            `json:"traffic"`
	// Config is the configuration file's state: its reloads and the
	// changes waiting for a restart.
	Config *ConfigView `json:"config,omitempty"`
	// Router is the router process serving the listeners.
	Router *RouterView `json:"router,omitempty"`
}

// RouterView says which router process serves the listeners.
type RouterView struct {
	PID        int       `json:"pid"`
	Listen     string    `json:"listen"`
	TestListen string    `json:"testListen,omitempty"`
	Started    time.Time `json:"started"`
}

// ErrorBody is every error answer.
type ErrorBody struct {
	Error string `json:"error"`
}

type api struct {
	rel     *release.Releaser
	ctl     *deploy.Controller
	service string
	rt      *router.AdminClient // the router process
	config  *reloader
	log     *slog.Logger
	// samples returns a deployment's chart readings (metrics.Sampler).
	samples func(id string) []metrics.Sample
	reg     *registry.Registry // names a pinned image by its tags; nil without a registry
}

// imageName says which version an image is: "hello:v1.0.0" for a digest
// the embedded registry has tagged, else the reference as it is.
func (a *api) imageName(ref string) string {
	r, err := registry.ParseRef(ref)
	if a.reg == nil || err != nil || r.Digest == "" {
		return ref
	}
	img, err := a.reg.Resolve(r.Repository, r.Digest)
	if err != nil || len(img.Tags) == 0 {
		return ref
	}
	return r.Repository + ":" + strings.Join(img.Tags, ",") + "@" + r.Digest[:min(len(r.Digest), 19)]
}

func (a *api) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", a.status)
	mux.HandleFunc("GET /v1/deployments", a.list)
	mux.HandleFunc("POST /v1/deployments", a.create)
	mux.HandleFunc("GET /v1/deployments/{id}", a.get)
	mux.HandleFunc("POST /v1/deployments/{id}/approve", a.approve)
	mux.HandleFunc("POST /v1/deployments/{id}/stop", a.stop)
	mux.HandleFunc("POST /v1/deployments/{id}/promote", a.promote)
	mux.HandleFunc("POST /v1/rollback", a.rollback)
	mux.HandleFunc("GET /v1/revisions", a.revisions)
	mux.HandleFunc("GET /v1/deployments/{id}/samples", a.deploymentSamples)
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// fail maps an error to a status code and a JSON body.
func (a *api) fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	var ae *awsfmt.Error
	var invalid *release.InvalidError
	switch {
	case errors.Is(err, deploy.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, deploy.ErrActive), errors.Is(err, deploy.ErrFinished), errors.Is(err, deploy.ErrNotWaiting),
		errors.Is(err, deploy.ErrNothingToPromote):
		code = http.StatusConflict
	case errors.As(err, &ae), errors.As(err, &invalid), errors.Is(err, errBadRequest), errors.Is(err, deploy.ErrNoPrevious):
		code = http.StatusBadRequest
	}
	if code == http.StatusInternalServerError {
		a.log.Error("API request", "err", err)
	}
	writeJSON(w, code, ErrorBody{Error: err.Error()})
}

var errBadRequest = errors.New("bad request")

// noPipeline answers the pipeline's routes on a daemon whose
// canaryflow.yaml has no pipeline section, saying so instead of a bare 404.
func noPipeline(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusNotFound, ErrorBody{Error: "this daemon runs no pipeline: canaryflow.yaml has no pipeline section " +
		"(add one, with its source and build, then restart canaryflow up; until then deploy images with canaryflow deploy create)"})
}

// trafficView reads the router's split and the counters of the task sets
// bound to its sides; each task set's counters start at zero with it.
func (a *api) trafficView(ctx context.Context) (TrafficView, error) {
	snap, err := a.rt.Snapshot(ctx)
	if err != nil {
		return TrafficView{}, err
	}
	gv := func(g router.GroupSnapshot) GroupView {
		return GroupView{TaskSet: g.Name, Requests: g.Requests, Errors: g.Responses[3], Healthy: g.HealthyTargets, Unhealthy: g.UnhealthyTargets}
	}
	return TrafficView{
		GreenPercent: float64(snap.Weights.Green) * 100 / router.WeightScale,
		Blue:         gv(snap.Blue),
		Green:        gv(snap.Green),
	}, nil
}

func (a *api) status(w http.ResponseWriter, r *http.Request) {
	services, err := a.ctl.Services()
	if err != nil {
		a.fail(w, err)
		return
	}
	tv, err := a.trafficView(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	if services == nil {
		services = []deploy.ServiceStatus{} // a list is [], never null
	}
	view := StatusView{Services: services, Traffic: tv, Config: a.config.status()}
	var info proxycmd.ProcessInfo
	if err := a.rt.Get(r.Context(), "/process", &info); err == nil {
		view.Router = &RouterView{PID: info.PID, Listen: info.Listen, TestListen: info.TestListen, Started: info.Started}
	}
	writeJSON(w, http.StatusOK, view)
}

func (a *api) list(w http.ResponseWriter, r *http.Request) {
	ds, err := a.ctl.List(a.service)
	if err != nil {
		a.fail(w, err)
		return
	}
	if ds == nil {
		ds = []deploy.Deployment{}
	}
	writeJSON(w, http.StatusOK, ds)
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "latest" {
		ds, err := a.ctl.List(a.service)
		if err != nil || len(ds) == 0 {
			a.fail(w, fmt.Errorf("no deployment yet (start one with canaryflow deploy create --image REPO:TAG, or push a release tag to a pipeline): %w", deploy.ErrNotFound))
			return
		}
		id = ds[len(ds)-1].ID
	}
	d, err := a.ctl.Get(id)
	if err != nil {
		a.fail(w, err)
		return
	}
	evs, err := a.ctl.Events(id)
	if err != nil {
		a.fail(w, err)
		return
	}
	view := DeploymentView{Deployment: *d, Events: evs}
	if rev, err := a.ctl.Revision(d.Service, d.Revision); err == nil {
		view.Image = a.imageName(rev.Image)
	}
	if rev, err := a.ctl.Revision(d.Service, d.PreviousRevision); err == nil && d.PreviousRevision > 0 {
		view.PreviousImage = a.imageName(rev.Image)
	}
	if !d.Done() {
		tv, err := a.trafficView(r.Context())
		if err != nil {
			a.fail(w, err)
			return
		}
		view.Traffic = &tv
	}
	writeJSON(w, http.StatusOK, view)
}

func (a *api) create(w http.ResponseWriter, r *http.Request) {
	var req CreateRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		a.fail(w, fmt.Errorf("%w: %v", errBadRequest, err))
		return
	}
	rreq := release.Request{Image: req.Image, Queue: req.Queue, AppSpecName: req.AppSpecName}
	var err error
	if req.AppSpec != "" {
		if rreq.AppSpec, err = awsfmt.ParseAppSpec(nameOr(req.AppSpecName, awsfmt.AppSpecFileName), []byte(req.AppSpec)); err != nil {
			a.fail(w, err)
			return
		}
	}
	if req.TaskDef != "" {
		if rreq.TaskDef, err = awsfmt.ParseTaskDef(nameOr(req.TaskDefName, awsfmt.TaskDefFileName), []byte(req.TaskDef)); err != nil {
			a.fail(w, err)
			return
		}
	}
	id, err := a.rel.Deploy(r.Context(), rreq)
	if err != nil {
		a.fail(w, err)
		return
	}
	d, err := a.ctl.Get(id)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, d)
}

func nameOr(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

func (a *api) approve(w http.ResponseWriter, r *http.Request) {
	if err := a.ctl.Approve(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, err)
		return
	}
	a.get(w, r)
}

func (a *api) stop(w http.ResponseWriter, r *http.Request) {
	req := StopRequest{Rollback: true}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			a.fail(w, fmt.Errorf("%w: %v", errBadRequest, err))
			return
		}
	}
	if err := a.ctl.Stop(r.Context(), r.PathValue("id"), req.Rollback); err != nil {
		a.fail(w, err)
		return
	}
	a.get(w, r)
}

// RevisionView is one revision as GET /v1/revisions lists it.
type RevisionView struct {
	deploy.Revision
	Version string `json:"version"`
}

func (a *api) revisions(w http.ResponseWriter, r *http.Request) {
	revs, err := a.ctl.Revisions(a.service)
	if err != nil {
		a.fail(w, err)
		return
	}
	out := make([]RevisionView, 0, len(revs))
	for _, rev := range revs {
		v := rev.Version()
		rev.Env = nil // settings may hold what a page need not show
		out = append(out, RevisionView{Revision: rev, Version: v})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) deploymentSamples(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.ctl.Get(id); err != nil {
		a.fail(w, err)
		return
	}
	s := []metrics.Sample{}
	if a.samples != nil {
		s = append(s, a.samples(id)...)
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *api) promote(w http.ResponseWriter, r *http.Request) {
	if err := a.ctl.Promote(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, err)
		return
	}
	a.get(w, r)
}

func (a *api) rollback(w http.ResponseWriter, r *http.Request) {
	var req RollbackRequest
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			a.fail(w, fmt.Errorf("%w: %v", errBadRequest, err))
			return
		}
	}
	d, err := a.rel.Rollback(r.Context(), req.To)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
