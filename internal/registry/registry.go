// Package registry is canaryflow's local ECR: an OCI distribution registry
// served on loopback, storing blobs and manifests on disk so images survive
// restarts.
//
// The wire protocol (uploads, chunks, ranges, digest verification) is
// go-containerregistry's registry, over a content-addressed blob store on
// disk; this package wraps it with what a real registry needs and that one
// lacks: credentials on every request, safe repository names, size limits,
// manifests and tags kept on disk (go-containerregistry keeps them in memory
// only, so this package answers the manifest, tag and catalog endpoints
// itself), reference checks on push, and an ECR-like lifecycle rule that
// never deletes an image a running task uses. Several processes may share
// one store: every read goes to disk.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
)

// Default limits, used when the Options fields are zero.
const (
	DefaultMaxBlobBytes     = 1 << 30 // 1 GiB per blob request
	DefaultMaxManifestBytes = 4 << 20 // 4 MiB, the distribution spec's advice
)

// Options configures a Registry. Dir is required; every other zero value
// means the documented default.
type Options struct {
	// Dir holds the registry's files: blobs/, repositories/ and auth-token.
	Dir string
	// Token is the credential every request must carry (basic-auth password
	// or bearer token). Empty: read Dir/auth-token, creating it if missing.
	Token string
	// AnonymousPull lets GET and HEAD through without credentials. Zero:
	// pulls need the token too. Pushes always need it.
	AnonymousPull bool
	// MaxBlobBytes caps one blob: a whole upload, however many chunks it
	// comes in. Zero: DefaultMaxBlobBytes.
	MaxBlobBytes int64
	// UploadIdle is how long an unfinished upload may go without a request
	// before it is abandoned and its spooled bytes (under Dir/uploads) are
	// freed, measured on Now. Zero: DefaultUploadIdle.
	UploadIdle time.Duration
	// MaxManifestBytes caps a manifest. Zero: DefaultMaxManifestBytes.
	MaxManifestBytes int64
	// KeepLast is the lifecycle rule: after each push, keep only the newest
	// KeepLast images of that repository (plus any image in use). Zero: keep
	// every image.
	KeepLast int
	// InUse returns the digests ("sha256:…") of images that running tasks
	// use; the lifecycle rule and Delete never remove those. Nil: none.
	InUse func(ctx context.Context) (map[string]bool, error)
	// Logger receives request and lifecycle logs. Nil: discarded.
	Logger *slog.Logger
	// Now stamps push times and ages uploads. Nil: time.Now.
	Now func() time.Time
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	if o.Dir == "" {
		return errors.New("registry options: Dir is required")
	}
	if o.MaxBlobBytes < 0 || o.MaxManifestBytes < 0 || o.KeepLast < 0 || o.UploadIdle < 0 {
		return errors.New("registry options: limits must not be negative")
	}
	return nil
}

// Registry is the embedded registry. It is an http.Handler to mount at the
// site root; Serve runs it on a listener.
type Registry struct {
	opts      Options
	token     string
	log       *slog.Logger
	blobs     *blobStore
	manifests *manifestStore
	uploads   *uploadSessions
	inner     http.Handler
	grants    grants // short-lived credentials (Grant)
	// mu orders manifest writes, deletes and lifecycle sweeps.
	mu sync.Mutex
}

// New opens (or creates) the registry store in opts.Dir and loads the stored
// manifests into the protocol handler.
func New(opts Options) (*Registry, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.MaxBlobBytes == 0 {
		opts.MaxBlobBytes = DefaultMaxBlobBytes
	}
	if opts.MaxManifestBytes == 0 {
		opts.MaxManifestBytes = DefaultMaxManifestBytes
	}
	if opts.UploadIdle == 0 {
		opts.UploadIdle = DefaultUploadIdle
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	token := opts.Token
	if token == "" {
		var err error
		if token, err = LoadOrCreateToken(opts.Dir); err != nil {
			return nil, err
		}
	}
	r := &Registry{
		opts:      opts,
		token:     token,
		log:       log,
		blobs:     &blobStore{dir: filepath.Join(opts.Dir, "blobs")},
		manifests: &manifestStore{dir: filepath.Join(opts.Dir, "repositories")},
		uploads: &uploadSessions{dir: filepath.Join(opts.Dir, "uploads"), max: opts.MaxBlobBytes,
			idle: opts.UploadIdle, now: opts.Now, open: map[string]*upload{}},
	}
	r.uploads.sweep()
	r.inner = ggcr.New(
		ggcr.WithBlobHandler(r.blobs),
		ggcr.Logger(slog.NewLogLogger(log.Handler(), slog.LevelDebug)),
	)
	return r, nil
}

// Token returns the credential clients must send.
func (r *Registry) Token() string { return r.token }

// Listen opens a TCP listener for the registry. An empty addr means
// 127.0.0.1 on a free port.
func Listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("registry listen %s: %w", addr, err)
	}
	return ln, nil
}

// Serve answers registry requests on ln until ctx is done, then shuts the
// server down and returns nil.
func (r *Registry) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// Uploads are also swept on every upload request; the ticker frees
	// abandoned ones when no request comes.
	tick := time.NewTicker(max(r.opts.UploadIdle/4, time.Second))
	defer tick.Stop()
	for done := false; !done; {
		select {
		case err := <-errc:
			return fmt.Errorf("registry serve: %w", err)
		case <-tick.C:
			if n := r.uploads.sweep(); n > 0 {
				r.log.Info("abandoned uploads freed", "count", n)
			}
		case <-ctx.Done():
			done = true
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-errc
	return nil
}

// ServeHTTP authenticates, validates and routes one registry request.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	pull := req.Method == http.MethodGet || req.Method == http.MethodHead
	if !(pull && r.opts.AnonymousPull) && !r.authorized(req) {
		writeUnauthorized(w)
		return
	}
	rt, err := parseRoute(req.URL.Path)
	if err != nil {
		writeError(w, http.StatusBadRequest, "NAME_INVALID", err.Error())
		return
	}
	switch rt.kind {
	case "manifests":
		r.serveManifest(w, req, rt)
		return
	case "blobs":
		if rt.rest == "uploads" || strings.HasPrefix(rt.rest, "uploads/") {
			r.serveUpload(w, req, rt)
			return
		}
	case "tags":
		r.serveTags(w, req, rt.repo)
		return
	case "catalog":
		r.serveCatalog(w, req)
		return
	case "referrers":
		writeError(w, http.StatusNotFound, "UNSUPPORTED", "referrers are not supported")
		return
	}
	r.inner.ServeHTTP(w, req)
}

// drain reads what is left of a body so the connection can be reused.
func drain(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 1<<20))
	rc.Close()
}
