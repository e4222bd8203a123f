package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canaryflow/canaryflow/internal/registry"
)

// The builders Image knows.
const (
	// BuilderAuto picks go or dockerfile from what the directory holds
	// (see ImageOptions.PreferDockerfile).
	BuilderAuto = "auto"
	// BuilderGo builds daemonless: a static Go binary on an empty base.
	BuilderGo = "go"
	// BuilderDockerfile builds the directory's Dockerfile through the
	// Docker engine.
	BuilderDockerfile = "dockerfile"
)

// ErrNoBuilder means auto found nothing to build: no Go main package and no
// Dockerfile (or, for the Dockerfile-first rule, neither an engine).
var ErrNoBuilder = errors.New("neither a Go main package nor a Dockerfile")

// ErrNoEngine means the dockerfile builder was chosen but no Docker engine
// answers.
var ErrNoEngine = errors.New("no Docker engine answers")

// ImageOptions describe one image build and its push; the image commands
// and the daemon's pipeline both build through Image with them.
type ImageOptions struct {
	// Builder is BuilderGo, BuilderDockerfile or BuilderAuto. Zero means
	// BuilderAuto.
	Builder string
	// PreferDockerfile changes what auto picks. Zero (the image build
	// command's rule): go when Dir/Package is a Go main package, else
	// dockerfile when Dir has a Dockerfile. Set (the pipeline's rule,
	// pipeline.build.image: auto): dockerfile when Dir has a Dockerfile and
	// an engine answers, else go.
	PreferDockerfile bool
	// Dir is the directory to build. Required.
	Dir string
	// Package is the go builder's main package, relative to Dir. Zero
	// means ".".
	Package string
	// Name is the go builder's binary name. Zero: the base name of
	// Dir/Package.
	Name string
	// Dockerfile is the dockerfile builder's file inside Dir. Zero means
	// "Dockerfile".
	Dockerfile string
	// Version and Commit are stamped as labels (and, for go, as
	// main.version). Zero: not stamped.
	Version, Commit string
	// Target is where the image is pushed. Required.
	Target Target
	// AlsoTags are further tags given to the pushed image in the same
	// repository. Zero: none.
	AlsoTags []string
	// Engine is the Docker engine to use. Nil: one is opened for this call
	// and closed after it.
	Engine *Engine
	// Progress receives the build's and the push's output. Nil: discarded.
	Progress io.Writer
}

// Validate reports options that cannot build.
func (o ImageOptions) Validate() error {
	if err := ValidateBuilder(o.Builder); err != nil {
		return fmt.Errorf("image options: %w", err)
	}
	if o.Dir == "" {
		return errors.New("image options: Dir is required")
	}
	if err := o.Target.Validate(); err != nil {
		return err
	}
	for _, tag := range o.AlsoTags {
		if err := registry.ValidateTag(tag); err != nil {
			return fmt.Errorf("image options: %w", err)
		}
	}
	return nil
}

// ValidateBuilder accepts the builder names ImageOptions.Builder takes.
func ValidateBuilder(b string) error {
	switch b {
	case "", BuilderAuto, BuilderGo, BuilderDockerfile:
		return nil
	}
	return fmt.Errorf("unknown builder %q (want auto, go or dockerfile)", b)
}

// Choose resolves auto to the builder Image would use; go and dockerfile
// are returned as they are.
func Choose(ctx context.Context, o ImageOptions) (string, error) {
	if o.Builder != "" && o.Builder != BuilderAuto {
		return o.Builder, nil
	}
	_, err := os.Stat(filepath.Join(o.Dir, dockerfileName(o.Dockerfile)))
	hasDockerfile := err == nil
	if o.PreferDockerfile {
		if hasDockerfile {
			eng, closeEngine := o.engine()
			defer closeEngine()
			if eng.Client(ctx) != nil {
				return BuilderDockerfile, nil
			}
		}
		return BuilderGo, nil
	}
	if isMainPackage(filepath.Join(o.Dir, o.Package)) {
		return BuilderGo, nil
	}
	if hasDockerfile {
		return BuilderDockerfile, nil
	}
	return "", fmt.Errorf("build %s: %w", o.Dir, ErrNoBuilder)
}

// Image builds Dir with the chosen builder, pushes it to the target (and
// its AlsoTags) and returns the pushed reference with its digest.
func Image(ctx context.Context, o ImageOptions) (registry.Ref, error) {
	if err := o.Validate(); err != nil {
		return registry.Ref{}, err
	}
	builder, err := Choose(ctx, o)
	if err != nil {
		return registry.Ref{}, err
	}
	if builder == BuilderGo {
		img, err := GoImage(ctx, GoImageOptions{Dir: o.Dir, Package: o.Package, Name: o.Name,
			Version: o.Version, Commit: o.Commit, Stderr: o.Progress})
		if err != nil {
			return registry.Ref{}, err
		}
		ref, err := Push(ctx, img, o.Target)
		if err != nil {
			return registry.Ref{}, err
		}
		for _, tag := range o.AlsoTags {
			t := o.Target
			t.Tag = tag
			if _, err := Push(ctx, img, t); err != nil {
				return registry.Ref{}, err
			}
		}
		return ref, nil
	}
	eng, closeEngine := o.engine()
	defer closeEngine()
	cli := eng.Client(ctx)
	if cli == nil {
		return registry.Ref{}, fmt.Errorf("build %s: dockerfile builder: %w", o.Dir, ErrNoEngine)
	}
	labels := map[string]string{}
	if o.Version != "" {
		labels[LabelVersion] = o.Version
	}
	if o.Commit != "" {
		labels[LabelRevision] = o.Commit
	}
	ref, err := DockerfileImage(ctx, DockerfileOptions{Dir: o.Dir, Dockerfile: o.Dockerfile, Labels: labels,
		Engine: cli, Progress: o.Progress}, o.Target)
	if err != nil {
		return registry.Ref{}, err
	}
	for _, tag := range o.AlsoTags {
		if err := retag(ctx, ref, tag, o.Target.Token); err != nil {
			return registry.Ref{}, err
		}
	}
	return ref, nil
}

// engine is o.Engine, or one opened for this call with its closer.
func (o ImageOptions) engine() (*Engine, func()) {
	if o.Engine != nil {
		return o.Engine, func() {}
	}
	e := &Engine{}
	return e, e.Close
}

// retag gives an image already in the registry a second tag, by reading it
// back by digest and pushing it under the new tag.
func retag(ctx context.Context, ref registry.Ref, tag, token string) error {
	src, err := name.ParseReference(ref.Host+"/"+ref.Repository+"@"+ref.Digest, registry.NameOptions(ref.Host)...)
	if err != nil {
		return fmt.Errorf("tag %s as %s: %w", ref, tag, err)
	}
	cred := registry.Credential{Host: ref.Host, Token: token}
	img, err := remote.Image(src, append(cred.RemoteOptions(), remote.WithContext(ctx))...)
	if err != nil {
		return fmt.Errorf("tag %s as %s: %w", ref, tag, err)
	}
	if _, err := Push(ctx, img, Target{Registry: ref.Host, Repository: ref.Repository, Tag: tag, Token: token}); err != nil {
		return fmt.Errorf("tag %s as %s: %w", ref, tag, err)
	}
	return nil
}

func dockerfileName(df string) string {
	if df == "" {
		return "Dockerfile"
	}
	return df
}

var mainPackage = regexp.MustCompile(`(?m)^package main\b`)

// isMainPackage reports whether dir holds a non-test Go file of package main.
func isMainPackage(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err == nil && mainPackage.Match(b) {
			return true
		}
	}
	return false
}
