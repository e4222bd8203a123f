package runtime

import (
	"context"
	"fmt"
	"path/filepath"
)

// ImagesInUse returns the digests ("sha256:…") of the images that running
// tasks use, across the process runtime kept under stateDir and the Docker
// engine when one answers. The registry's lifecycle rule and `image rm` ask
// it before deleting anything, whichever runtime started the task: a task
// started by `canaryflow task run` holds its image as firmly as one the
// daemon started.
func ImagesInUse(ctx context.Context, processDir, registryToken string) (map[string]bool, error) {
	used := map[string]bool{}
	add := func(rt Runtime) error {
		tasks, err := rt.List(ctx, nil)
		if err != nil {
			return fmt.Errorf("list %s tasks: %w", rt.Name(), err)
		}
		for _, t := range tasks {
			if t.State == StateRunning && t.ImageDigest != "" {
				used[t.ImageDigest] = true
			}
		}
		return nil
	}
	p, err := NewProcess(ProcessOptions{Dir: filepath.Clean(processDir), RegistryToken: registryToken})
	if err != nil {
		return nil, err
	}
	if err := add(p); err != nil {
		return nil, err
	}
	cli, err := pingEngine(ctx)
	if err != nil {
		// No engine: no container can hold an image.
		return used, nil
	}
	defer cli.Close()
	d, err := NewDocker(DockerOptions{Client: cli, RegistryToken: registryToken})
	if err != nil {
		return nil, err
	}
	if err := add(d); err != nil {
		return nil, err
	}
	return used, nil
}
