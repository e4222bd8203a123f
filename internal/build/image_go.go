// Package build holds canaryflow's build steps (the local CodeBuild): image
// builders that turn a source directory into an image in the embedded
// registry, and the buildspec runner.
package build

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// OCI annotation keys canaryflow stamps on the images it builds.
const (
	LabelVersion  = "org.opencontainers.image.version"
	LabelRevision = "org.opencontainers.image.revision"
	LabelCreated  = "org.opencontainers.image.created"
	LabelTitle    = "org.opencontainers.image.title"
)

// versionPattern keeps the version safe inside -ldflags, which splits on
// spaces and quotes.
var versionPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]{0,127}$`)

// GoImageOptions describes a daemonless Go image build, the way ko builds:
// a static binary in one layer on an empty base.
type GoImageOptions struct {
	// Dir is the directory to build in (inside a Go module). Required.
	Dir string
	// Package is the main package to build, relative to Dir. Empty: ".".
	Package string
	// Name is the binary's name, placed at /<Name> and used as entrypoint.
	// Empty: the base name of Dir/Package.
	Name string
	// Version is stamped with -X main.version= and as the version label.
	// Empty: neither.
	Version string
	// Commit is the revision label. Empty: no label.
	Commit string
	// GOARCH is the target architecture. Empty: the host's. GOOS is linux.
	GOARCH string
	// Created is the image and file time. Zero: the Unix epoch, so the same
	// source always gives the same digest (SOURCE_DATE_EPOCH semantics).
	Created time.Time
	// Stderr receives the go command's output. Nil: kept for the error.
	Stderr io.Writer
}

// Validate reports options that cannot build.
func (o GoImageOptions) Validate() error {
	if o.Dir == "" {
		return errors.New("go image options: Dir is required")
	}
	if o.Version != "" && !versionPattern.MatchString(o.Version) {
		return fmt.Errorf("go image options: version %q may hold only letters, digits and . + _ -", o.Version)
	}
	if o.Name != "" && (strings.ContainsAny(o.Name, `/\`) || o.Name == "." || o.Name == "..") {
		return fmt.Errorf("go image options: binary name %q must be a plain file name", o.Name)
	}
	return nil
}

// GoImage builds the Go main package into an image: CGO_ENABLED=0,
// -trimpath, no VCS stamp, fixed file times, so its digest depends only on
// the source, the toolchain and the options.
func GoImage(ctx context.Context, opts GoImageOptions) (v1.Image, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	pkg := opts.Package
	if pkg == "" {
		pkg = "."
	}
	name := opts.Name
	if name == "" {
		abs, err := filepath.Abs(filepath.Join(opts.Dir, pkg))
		if err != nil {
			return nil, fmt.Errorf("build go image: %w", err)
		}
		name = strings.ToLower(filepath.Base(abs))
	}
	arch := opts.GOARCH
	if arch == "" {
		arch = runtime.GOARCH
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	created = created.UTC()

	bin, err := goBuild(ctx, opts, pkg, arch)
	if err != nil {
		return nil, err
	}
	layerTar, err := binaryLayer(name, bin, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.DockerLayer))
	if err != nil {
		return nil, fmt.Errorf("build go image layer: %w", err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{CreatedBy: "canaryflow build (go " + pkg + ")", Created: v1.Time{Time: created}},
	})
	if err != nil {
		return nil, fmt.Errorf("build go image: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("build go image config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	cfg.Created = v1.Time{Time: created}
	cfg.Config.Entrypoint = []string{"/" + name}
	cfg.Config.User = "65534:65534"
	cfg.Config.WorkingDir = "/"
	cfg.Config.Env = []string{"PATH=/"}
	cfg.Config.Labels = map[string]string{LabelTitle: name, LabelCreated: created.Format(time.RFC3339)}
	if opts.Version != "" {
		cfg.Config.Labels[LabelVersion] = opts.Version
	}
	if opts.Commit != "" {
		cfg.Config.Labels[LabelRevision] = opts.Commit
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("build go image config: %w", err)
	}
	return img, nil
}

// goBuild compiles the package statically and returns the binary.
func goBuild(ctx context.Context, opts GoImageOptions, pkg, arch string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "canaryflow-build-*")
	if err != nil {
		return nil, fmt.Errorf("go build %s: %w", pkg, err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "app")
	ldflags := "-s -w"
	if opts.Version != "" {
		ldflags += " -X main.version=" + opts.Version
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, "--", pkg)
	cmd.Dir = opts.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if opts.Stderr != nil {
		cmd.Stderr = io.MultiWriter(&stderr, opts.Stderr)
	}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build %s in %s: %w: %s", pkg, opts.Dir, err, strings.TrimSpace(stderr.String()))
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("go build %s: %w", pkg, err)
	}
	return bin, nil
}

// binaryLayer is an uncompressed tar holding the binary at /<name>, owned by
// root, mode 0755, with a fixed time.
func binaryLayer(name string, bin []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{
		Name:     name,
		Mode:     0o755,
		Size:     int64(len(bin)),
		ModTime:  mtime,
		Typeflag: tar.TypeReg,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	return buf.Bytes(), nil
}
