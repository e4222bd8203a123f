package release

import (
	"fmt"

	"github.com/canaryflow/canaryflow/internal/loopback"
	"github.com/canaryflow/canaryflow/internal/registry"
)

// allowedRegistriesKey is the setting that lists foreign registries, as
// errors name it.
const allowedRegistriesKey = "service.allowed_registries"

// pin pins an image of the embedded registry to its digest at the
// daemon's registry address: "hello:v1" (no host) or a reference to the
// registry served at another loopback port by `canaryflow image build`.
// An image of another registry is used as it is if that registry is in
// service.allowed_registries, and refused otherwise.
func (r *Releaser) pin(svc Service, image string) (string, error) {
	ref, err := registry.ParseRef(image)
	if err != nil {
		return "", fmt.Errorf("image %q: %v", image, err)
	}
	host := r.opts.RegistryHost
	embedded := ref.Host == "" || ref.Host == host || (r.opts.Registry != nil && loopback.IsHost(ref.Host))
	if !embedded {
		if !svc.AllowsRegistry(ref.Host) {
			return "", fmt.Errorf("image %s: registry %s is not in %s (canaryflow.yaml)", image, ref.Host, allowedRegistriesKey)
		}
		return image, nil
	}
	if r.opts.Registry == nil {
		return image, nil
	}
	img, err := r.opts.Registry.Resolve(ref.Repository, ref.Reference())
	if err != nil {
		return "", fmt.Errorf("image %s is not in canaryflow's registry (build it with `canaryflow image build`): %v", image, err)
	}
	return registry.Ref{Host: host, Repository: img.Repository, Digest: img.Digest}.String(), nil
}
