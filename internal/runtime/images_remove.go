package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/image"
)

// RemoveImages deletes from the Docker engine every image reference of
// registry (host:port): what a throwaway registry, such as the demo's,
// leaves in the engine once its tasks are gone. An image a container still
// uses is left. It returns how many references it removed; with no engine
// answering it does nothing.
func RemoveImages(ctx context.Context, registry string) (int, error) {
	cli, err := pingEngine(ctx)
	if errors.Is(err, ErrNoEngine) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	imgs, err := cli.ImageList(ctx, image.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("list images: %w", err)
	}
	prefix := registry + "/"
	n := 0
	var errs []error
	for _, im := range imgs {
		for _, ref := range append(im.RepoTags, im.RepoDigests...) {
			if !strings.HasPrefix(ref, prefix) {
				continue
			}
			_, err := cli.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
			if err != nil && errdefsNotFound(err) {
				continue // went with another reference of the same image
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("remove image %s: %w", ref, err))
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}
