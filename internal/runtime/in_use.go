package runtime

import (
	"context"
	"fmt"
	"path/filepath"
)

// Available returns the process runtime kept under processDir and, when a
// Docker engine answers, the docker runtime of the same owner
// (OwnerOf(processDir), as Select gives the daemon): every place a task of
// this state may run. close releases the engine's client.
func Available(ctx context.Context, processDir, registryToken string) (rts []Runtime, close func(), err error) {
	return available(ctx, processDir, registryToken, OwnerOf(processDir))
}

// available is Available with the docker runtime's owner; "" lists the
// containers of every owner.
func available(ctx context.Context, processDir, registryToken, owner string) (rts []Runtime, close func(), err error) {
	close = func() {}
	p, err := NewProcess(ProcessOptions{Dir: filepath.Clean(processDir), RegistryToken: registryToken})
	if err != nil {
		return nil, close, err
	}
	rts = append(rts, p)
	cli, err := pingEngine(ctx)
	if err != nil {
		return rts, close, nil // no engine: the process runtime alone
	}
	d, err := NewDocker(DockerOptions{Client: cli, RegistryToken: registryToken, Owner: owner})
	if err != nil {
		cli.Close()
		return nil, close, err
	}
	return append(rts, d), func() { cli.Close() }, nil
}

// ImagesInUse returns the digests ("sha256:…") of the images that running
// tasks use, across every Available runtime and every owner's containers.
// The registry's lifecycle rule and `image rm` ask it before deleting
// anything, whichever runtime started the task: a task started by
// `canaryflow task run` holds its image as firmly as one the daemon
// started.
func ImagesInUse(ctx context.Context, processDir, registryToken string) (map[string]bool, error) {
	rts, close, err := available(ctx, processDir, registryToken, "")
	if err != nil {
		return nil, err
	}
	defer close()
	used := map[string]bool{}
	for _, rt := range rts {
		tasks, err := rt.List(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("list %s tasks: %w", rt.Name(), err)
		}
		for _, t := range tasks {
			if t.State == StateRunning && t.ImageDigest != "" {
				used[t.ImageDigest] = true
			}
		}
	}
	return used, nil
}
