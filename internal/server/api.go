package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/loopback"
	"github.com/canaryflow/canaryflow/internal/registry"
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

// DeploymentView is what GET /v1/deployments/{id} answers.
type DeploymentView struct {
	Deployment deploy.Deployment       `json:"deployment"`
	Events     []deploy.LifecycleEvent `json:"lifecycleEvents"`
	Traffic    *TrafficView            `json:"traffic,omitempty"`
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
}

// ErrorBody is every error answer.
type ErrorBody struct {
	Error string `json:"error"`
}

type api struct {
	reg     *registry.Registry // nil when the daemon serves no registry
	regHost string
	ctl     *deploy.Controller
	svc     *config.Service
	rt      *router.AdminClient // the router process
	log     *slog.Logger
}

func (a *api) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", a.status)
	mux.HandleFunc("GET /v1/deployments", a.list)
	mux.HandleFunc("POST /v1/deployments", a.create)
	mux.HandleFunc("GET /v1/deployments/{id}", a.get)
	mux.HandleFunc("POST /v1/deployments/{id}/approve", a.approve)
	mux.HandleFunc("POST /v1/deployments/{id}/stop", a.stop)
	mux.HandleFunc("POST /v1/rollback", a.rollback)
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
	switch {
	case errors.Is(err, deploy.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, deploy.ErrActive), errors.Is(err, deploy.ErrFinished), errors.Is(err, deploy.ErrNotWaiting):
		code = http.StatusConflict
	case errors.As(err, &ae), errors.Is(err, errBadRequest), errors.Is(err, deploy.ErrNoPrevious):
		code = http.StatusBadRequest
	}
	if code == http.StatusInternalServerError {
		a.log.Error("API request", "err", err)
	}
	writeJSON(w, code, ErrorBody{Error: err.Error()})
}

var errBadRequest = errors.New("bad request")

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
	writeJSON(w, http.StatusOK, StatusView{Services: services, Traffic: tv})
}

func (a *api) list(w http.ResponseWriter, r *http.Request) {
	ds, err := a.ctl.List(a.svc.Name)
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
		ds, err := a.ctl.List(a.svc.Name)
		if err != nil || len(ds) == 0 {
			a.fail(w, fmt.Errorf("no deployment yet: %w", deploy.ErrNotFound))
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
	var spec *awsfmt.AppSpec
	var td *awsfmt.TaskDef
	var err error
	if req.AppSpec != "" {
		if spec, err = awsfmt.ParseAppSpec(nameOr(req.AppSpecName, awsfmt.AppSpecFileName), []byte(req.AppSpec)); err != nil {
			a.fail(w, err)
			return
		}
		if spec.ContainerName != a.svc.Container.Name || spec.ContainerPort != a.svc.Container.Port {
			a.fail(w, fmt.Errorf("%w: appspec's LoadBalancerInfo is %s:%d but canaryflow.yaml's service.container is %s:%d",
				errBadRequest, spec.ContainerName, spec.ContainerPort, a.svc.Container.Name, a.svc.Container.Port))
			return
		}
	}
	if req.TaskDef != "" {
		if td, err = awsfmt.ParseTaskDef(nameOr(req.TaskDefName, awsfmt.TaskDefFileName), []byte(req.TaskDef)); err != nil {
			a.fail(w, err)
			return
		}
	}
	d, err := a.deploy(r.Context(), req.Image, td, spec, req.Queue, "")
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, d)
}

// deploy registers a revision of image and creates a deployment of it.
func (a *api) deploy(ctx context.Context, image string, td *awsfmt.TaskDef, spec *awsfmt.AppSpec, queue bool, creator string) (*deploy.Deployment, error) {
	rev, err := NewRevision(a.svc, image, td)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	if rev.Image, err = a.resolveImage(rev.Image); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	settings, err := Settings(a.svc, spec)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	rev, err = a.ctl.RegisterRevision(ctx, rev)
	if err != nil {
		return nil, err
	}
	return a.ctl.Create(ctx, deploy.CreateRequest{Service: a.svc.Name, Revision: rev.Number, Settings: settings, Queue: queue, Creator: creator})
}

// deployImage deploys an image with the service's own settings.
func (a *api) deployImage(ctx context.Context, image string, queue bool, creator string) (*deploy.Deployment, error) {
	return a.deploy(ctx, image, nil, nil, queue, creator)
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

func (a *api) rollback(w http.ResponseWriter, r *http.Request) {
	settings, err := Settings(a.svc, nil)
	if err != nil {
		a.fail(w, err)
		return
	}
	d, err := a.ctl.Rollback(r.Context(), a.svc.Name, settings)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// resolveImage pins an image of the embedded registry to its digest at
// the daemon's registry address: "hello:v1" (no host) or a reference to
// the registry served at another loopback port by `canaryflow image
// build`. An image of another registry is used as it is if that registry
// is in service.allowed_registries, and refused otherwise.
func (a *api) resolveImage(image string) (string, error) {
	ref, err := registry.ParseRef(image)
	if err != nil {
		return "", fmt.Errorf("image %q: %v", image, err)
	}
	embedded := ref.Host == "" || ref.Host == a.regHost || (a.reg != nil && loopback.IsHost(ref.Host))
	if !embedded {
		if !a.svc.AllowsRegistry(ref.Host) {
			return "", fmt.Errorf("image %s: registry %s is not in %s (canaryflow.yaml)", image, ref.Host, config.AllowedRegistriesKey)
		}
		return image, nil
	}
	if a.reg == nil {
		return image, nil
	}
	img, err := a.reg.Resolve(ref.Repository, ref.Reference())
	if err != nil {
		return "", fmt.Errorf("image %s is not in canaryflow's registry (build it with `canaryflow image build`): %v", image, err)
	}
	return registry.Ref{Host: a.regHost, Repository: img.Repository, Digest: img.Digest}.String(), nil
}
