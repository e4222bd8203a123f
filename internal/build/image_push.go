package build

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canaryflow/canaryflow/internal/loopback"
	"github.com/canaryflow/canaryflow/internal/registry"
)

// Target is where a built image goes: a repository and tag in canaryflow's
// registry.
type Target struct {
	// Registry is the registry's host:port, e.g. 127.0.0.1:5000. Required.
	Registry string
	// Repository is the repository name. Required.
	Repository string
	// Tag is the tag to push. Empty: "latest".
	Tag string
	// Token is canaryflow's registry credential, sent to Registry exactly
	// and to no other host. Empty: anonymous (refused by canaryflow's
	// registry).
	Token string
}

// Validate reports a target that cannot be pushed to.
func (t Target) Validate() error {
	if t.Registry == "" {
		return errors.New("image target: Registry is required")
	}
	if err := registry.ValidateRepository(t.Repository); err != nil {
		return fmt.Errorf("image target: %w", err)
	}
	if t.Token != "" && !loopback.IsHost(t.Registry) {
		return fmt.Errorf("image target: registry %s is not on loopback: canaryflow's registry token is sent to its own registry only", t.Registry)
	}
	if t.Tag != "" {
		if err := registry.ValidateTag(t.Tag); err != nil {
			return fmt.Errorf("image target: %w", err)
		}
	}
	return nil
}

func (t Target) tag() string {
	if t.Tag == "" {
		return "latest"
	}
	return t.Tag
}

// Push writes img to the target and returns its reference with digest.
// Loopback registries are spoken to over plain HTTP; others over HTTPS only.
func Push(ctx context.Context, img v1.Image, t Target) (registry.Ref, error) {
	if err := t.Validate(); err != nil {
		return registry.Ref{}, err
	}
	ref, err := name.NewTag(t.Registry+"/"+t.Repository+":"+t.tag(), registry.NameOptions(t.Registry)...)
	if err != nil {
		return registry.Ref{}, fmt.Errorf("push image: %w", err)
	}
	cred := registry.Credential{Host: t.Registry, Token: t.Token}
	if err := remote.Write(ref, img, append(cred.RemoteOptions(), remote.WithContext(ctx))...); err != nil {
		return registry.Ref{}, fmt.Errorf("push image %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return registry.Ref{}, fmt.Errorf("push image %s: %w", ref, err)
	}
	return registry.Ref{Host: t.Registry, Repository: t.Repository, Tag: t.tag(), Digest: d.String()}, nil
}
