package build

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	dockerregistry "github.com/docker/docker/api/types/registry"

	"github.com/canaryflow/canaryflow/internal/registry"
)

// DockerEngine is the part of the Docker Engine API client that Dockerfile
// builds use (*client.Client satisfies it).
type DockerEngine interface {
	ImageBuild(ctx context.Context, buildContext io.Reader, options build.ImageBuildOptions) (build.ImageBuildResponse, error)
	ImagePush(ctx context.Context, ref string, options image.PushOptions) (io.ReadCloser, error)
	ImageRemove(ctx context.Context, ref string, options image.RemoveOptions) ([]image.DeleteResponse, error)
}

// DockerfileOptions describes a build through the Docker engine.
type DockerfileOptions struct {
	// Dir is the build context. Required.
	Dir string
	// Dockerfile is the file's path inside Dir. Empty: "Dockerfile".
	Dockerfile string
	// BuildArgs are passed as --build-arg.
	BuildArgs map[string]string
	// Labels are added to the image (e.g. the OCI version and revision).
	Labels map[string]string
	// Engine is the Docker client. Required.
	Engine DockerEngine
	// Progress receives the engine's build and push output. Nil: discarded.
	Progress io.Writer
}

// Validate reports options that cannot build.
func (o DockerfileOptions) Validate() error {
	if o.Dir == "" {
		return errors.New("dockerfile options: Dir is required")
	}
	if o.Engine == nil {
		return errors.New("dockerfile options: Engine is required")
	}
	df := o.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	if filepath.IsAbs(df) || strings.HasPrefix(filepath.Clean(df), "..") {
		return fmt.Errorf("dockerfile options: %q must be inside the build context", df)
	}
	return nil
}

// DockerfileImage builds Dir with the engine's builder, tags the result for
// the target and pushes it there, returning the pushed reference with its
// digest. The engine pulls no base image here, so only FROM scratch (or
// images already loaded) work on a machine without internet.
func DockerfileImage(ctx context.Context, opts DockerfileOptions, t Target) (registry.Ref, error) {
	if err := opts.Validate(); err != nil {
		return registry.Ref{}, err
	}
	if err := t.Validate(); err != nil {
		return registry.Ref{}, err
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	ref := t.Registry + "/" + t.Repository + ":" + t.tag()

	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarContext(opts.Dir, pw)) }()
	args := make(map[string]*string, len(opts.BuildArgs))
	for k, v := range opts.BuildArgs {
		args[k] = &v
	}
	resp, err := opts.Engine.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags:        []string{ref},
		Dockerfile:  opts.Dockerfile,
		BuildArgs:   args,
		Labels:      opts.Labels,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		pr.CloseWithError(err)
		return registry.Ref{}, fmt.Errorf("docker build %s: %w", opts.Dir, err)
	}
	_, err = readEngineStream(resp.Body, progress)
	resp.Body.Close()
	pr.Close()
	if err != nil {
		return registry.Ref{}, fmt.Errorf("docker build %s: %w", opts.Dir, err)
	}
	// The registry is where the image lives; the engine's tag (named after
	// this registry address) goes once the push is over, pushed or not.
	defer opts.Engine.ImageRemove(context.WithoutCancel(ctx), ref, image.RemoveOptions{PruneChildren: true})

	auth, err := dockerregistry.EncodeAuthConfig(dockerregistry.AuthConfig{
		Username: registry.Username, Password: t.Token, ServerAddress: t.Registry,
	})
	if err != nil {
		return registry.Ref{}, fmt.Errorf("docker push %s: %w", ref, err)
	}
	rc, err := opts.Engine.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		return registry.Ref{}, fmt.Errorf("docker push %s: %w", ref, err)
	}
	digest, err := readEngineStream(rc, progress)
	rc.Close()
	if err != nil {
		return registry.Ref{}, fmt.Errorf("docker push %s: %w", ref, err)
	}
	if digest == "" {
		return registry.Ref{}, fmt.Errorf("docker push %s: the engine reported no digest", ref)
	}
	return registry.Ref{Host: t.Registry, Repository: t.Repository, Tag: t.tag(), Digest: digest}, nil
}

// engineMessage is one line of the engine's JSON progress stream.
type engineMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Aux json.RawMessage `json:"aux"`
}

// readEngineStream copies the progress text to w and returns the digest the
// push reported (aux.Digest), or the first error message in the stream.
func readEngineStream(r io.Reader, w io.Writer) (string, error) {
	dec := json.NewDecoder(r)
	var digest string
	for {
		var m engineMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return digest, nil
		} else if err != nil {
			return digest, fmt.Errorf("read engine output: %w", err)
		}
		if m.Error != "" {
			return digest, errors.New(strings.TrimSpace(m.Error))
		}
		if m.Stream != "" {
			io.WriteString(w, m.Stream)
		} else if m.Status != "" {
			io.WriteString(w, m.Status+"\n")
		}
		if len(m.Aux) > 0 {
			var aux struct{ Digest string }
			if json.Unmarshal(m.Aux, &aux) == nil && aux.Digest != "" {
				digest = aux.Digest
			}
		}
	}
}

// tarContext writes dir as a tar stream for the engine, skipping .git.
// Symbolic links are stored as links, never followed.
func tarContext(dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		} else if !info.Mode().IsRegular() && !info.IsDir() {
			return nil
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("tar build context %s: %w", dir, err)
	}
	return tw.Close()
}
