// Package release is the use case "deploy this image for this service".
// It turns an image, and optionally an AWS task definition and appspec,
// into a registered revision and a deployment with its settings, with an
// image of the embedded registry pinned to its digest. The API's POST
// /v1/deployments and the pipeline's Deploy stage both call Deploy.
//
// A deployment of a release (a tag the pipeline built) takes its settings
// from the tagged commit's canaryflow.yaml and appspec.yaml, as CodeDeploy
// reads the appspec from the revision; one made by hand takes them from
// the files canaryflow up runs with. Either way the deployment records
// where they came from (deploy.SettingsSource).
//
// The package reads no configuration itself: the daemon hands it the
// service as plain values (Service) and a function that parses a
// canaryflow.yaml document into one.
package release

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/registry"
)

// Controller is what a release needs of the deployment controller.
type Controller interface {
	RegisterRevision(ctx context.Context, rev deploy.Revision) (deploy.Revision, error)
	Create(ctx context.Context, req deploy.CreateRequest) (*deploy.Deployment, error)
	Rollback(ctx context.Context, service, to string, settings deploy.Settings) (*deploy.Deployment, error)
	List(service string) ([]deploy.Deployment, error)
	Services() ([]deploy.ServiceStatus, error)
	Follow(ctx context.Context, id string, onChange func(deploy.Deployment)) (deploy.Deployment, error)
}

// Registry is the embedded image registry, asked for the digest of a tag.
type Registry interface {
	Resolve(repo, ref string) (registry.Image, error)
}

// Options configure a Releaser.
type Options struct {
	// Controller creates the deployments. Required.
	Controller Controller
	// Service is the service as canaryflow up loaded it. Required (a name).
	Service Service
	// Registry is the embedded registry; nil when the daemon serves none,
	// and then every image is deployed as it is named.
	Registry Registry
	// RegistryHost is the embedded registry's host:port, the host a pinned
	// reference names.
	RegistryHost string
	// ParseService reads the service section of a canaryflow.yaml
	// document (name is used in its errors, which carry file:line). It is
	// how a release's own settings are read. Zero: a deployment of a
	// release is refused.
	ParseService func(name string, data []byte) (Service, error)
}

// Validate reports options that cannot work.
func (o *Options) Validate() error {
	if o.Controller == nil {
		return errors.New("release: a controller is required")
	}
	if o.Service.Name == "" {
		return errors.New("release: the service has no name")
	}
	return nil
}

// Releaser deploys images of one service. It is safe for concurrent use.
type Releaser struct {
	opts Options
	mu   sync.Mutex
	svc  Service // the service in force; SetService replaces it
}

// New returns a Releaser.
func New(o Options) (*Releaser, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Releaser{opts: o, svc: o.Service}, nil
}

// Service returns the service in force.
func (r *Releaser) Service() Service {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.svc
}

// SetService replaces the service in force (canaryflow.yaml read again
// on SIGHUP); deployments already created keep the settings they froze.
// The name stays: a daemon serves one service for its life.
func (r *Releaser) SetService(s Service) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Name = r.svc.Name
	r.svc = s
}

// Request is one deployment to make.
type Request struct {
	// Image is the image to deploy; zero takes the task definition's.
	Image string
	// TaskDef, when set, overlays the service's container (image,
	// environment, port, command, size).
	TaskDef *awsfmt.TaskDef
	// AppSpec, when set, names the hooks by function; AppSpecName is its
	// file, as the user named it.
	AppSpec     *awsfmt.AppSpec
	AppSpecName string
	// Queue waits behind a deployment in progress instead of refusing.
	Queue bool
	// Creator is recorded on the deployment ("user" when zero).
	Creator string
	// Release, when set, is the tagged commit the image was built from:
	// the settings come from its canaryflow.yaml and appspec.yaml, not
	// from the service in force nor AppSpec.
	Release *Commit
}

// InvalidError is a request that cannot be deployed as it is: a bad image
// reference, a registry not allowed, settings that do not fit the
// service. Nothing was created.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

func invalid(err error) error { return &InvalidError{Err: err} }

// Deploy registers a revision of the image and creates a deployment of
// it, returning the deployment's ID.
func (r *Releaser) Deploy(ctx context.Context, req Request) (string, error) {
	svc := r.Service()
	settings, err := r.settings(ctx, svc, req)
	if err != nil {
		return "", err
	}
	rev, err := svc.Revision(req.Image, req.TaskDef)
	if err != nil {
		return "", invalid(err)
	}
	if ref, err := registry.ParseRef(rev.Image); err == nil {
		rev.Tag = ref.Tag
	}
	if rev.Image, err = r.pin(svc, rev.Image); err != nil {
		return "", invalid(err)
	}
	if rev, err = r.opts.Controller.RegisterRevision(ctx, rev); err != nil {
		return "", err
	}
	d, err := r.opts.Controller.Create(ctx, deploy.CreateRequest{Service: svc.Name, Revision: rev.Number, Settings: settings,
		Queue: req.Queue, Creator: req.Creator})
	if err != nil {
		return "", err
	}
	return d.ID, nil
}

// settings are a deployment's settings, with where they came from: a
// release's own files, else the service in force with the request's
// appspec. An appspec must name svc's container, the one that runs.
func (r *Releaser) settings(ctx context.Context, svc Service, req Request) (deploy.Settings, error) {
	if req.Release == nil {
		source := &deploy.SettingsSource{Files: []string{configFile}}
		specName := nameOr(req.AppSpecName, awsfmt.AppSpecFileName)
		if req.AppSpec != nil {
			source.Files = append(source.Files, specName)
		}
		s, err := settingsOf(svc, svc, req.AppSpec, specName)
		if err != nil {
			return s, invalid(err)
		}
		s.Source = source
		return s, nil
	}
	rel, err := r.readRelease(ctx, *req.Release)
	if err != nil {
		return deploy.Settings{}, err
	}
	s, err := settingsOf(svc, rel.service, rel.spec, awsfmt.AppSpecFileName)
	if err != nil {
		return s, invalid(fmt.Errorf("%s: %w", rel.at, err))
	}
	s.Source = rel.source
	return s, nil
}

// settingsOf are from's settings with spec (nil: none), once spec is
// found to name svc's container.
func settingsOf(svc, from Service, spec *awsfmt.AppSpec, specName string) (deploy.Settings, error) {
	if spec != nil {
		if err := svc.checkAppSpec(specName, spec); err != nil {
			return deploy.Settings{}, err
		}
	}
	return from.DeploymentSettings(spec)
}

// Rollback stops the deployment in progress with rollback or, when none
// runs, deploys the revision that succeeded before the live one — or, with
// to set, the revision of that version — with the settings in force; it
// returns the deployment that does it.
func (r *Releaser) Rollback(ctx context.Context, to string) (*deploy.Deployment, error) {
	svc := r.Service()
	settings, err := svc.DeploymentSettings(nil)
	if err != nil {
		return nil, invalid(err)
	}
	settings.Source = &deploy.SettingsSource{Files: []string{configFile}}
	return r.opts.Controller.Rollback(ctx, svc.Name, to, settings)
}

// configFile is the name of canaryflow's configuration file, as a
// deployment's settings source names it.
const configFile = "canaryflow.yaml"

func nameOr(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

// errNoParser is returned for a release when the Releaser cannot read
// canaryflow.yaml documents.
var errNoParser = fmt.Errorf("release: no canaryflow.yaml parser: the daemon cannot read a release's settings")
