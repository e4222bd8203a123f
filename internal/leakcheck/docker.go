package leakcheck

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// dockerLeftovers lists, then force-removes, the containers and images of
// run id. Without an engine there is nothing to find.
func dockerLeftovers(ctx context.Context, id string) []string {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = cli.Ping(pctx)
	pcancel()
	if err != nil {
		return nil
	}
	var out []string
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return []string{fmt.Sprintf("list docker containers: %v", err)}
	}
	for _, c := range cs {
		if c.Labels[Label] != id && !strings.Contains(c.Image, id) {
			continue
		}
		out = append(out, fmt.Sprintf("docker container %.12s %v (%s, %s)", c.ID, c.Names, c.Image, c.State))
		cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
	imgs, err := cli.ImageList(ctx, image.ListOptions{All: true})
	if err != nil {
		return append(out, fmt.Sprintf("list docker images: %v", err))
	}
	for _, im := range imgs {
		refs := imageRefs(im, id)
		if len(refs) == 0 {
			continue
		}
		out = append(out, fmt.Sprintf("docker image %.19s %v", im.ID, refs))
		for _, ref := range refs {
			cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	}
	return out
}

// imageRefs returns an image's tags and digests that hold id.
func imageRefs(im image.Summary, id string) []string {
	var refs []string
	for _, r := range append(append([]string{}, im.RepoTags...), im.RepoDigests...) {
		if strings.Contains(r, id) {
			refs = append(refs, r)
		}
	}
	return refs
}
