package runtime

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
)

// TestRemoveImages: the images a registry's tasks pulled into the engine
// are gone once RemoveImages is called for that registry.
func TestRemoveImages(t *testing.T) {
	cli := dockerClient(t)
	img := helloImage(t)
	service := uniqueService(t)
	cleanupContainers(t, cli, service, img.ref)
	d, err := NewDocker(DockerOptions{Client: cli, RegistryToken: img.token, RegistryHost: img.host})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	task, err := d.Start(ctx, TaskSpec{Image: img.ref, Service: service})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(ctx, task.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	before, err := cli.ImageList(ctx, image.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if countRefs(before, img.host+"/") == 0 {
		t.Fatal("the task's image is not in the engine: the test proves nothing")
	}
	n, err := RemoveImages(ctx, img.host)
	if err != nil || n == 0 {
		t.Fatalf("RemoveImages = %d, %v; want some removed", n, err)
	}
	after, err := cli.ImageList(ctx, image.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if left := countRefs(after, img.host+"/"); left != 0 {
		t.Errorf("%d references of %s are still in the engine", left, img.host)
	}
}

func countRefs(imgs []image.Summary, prefix string) int {
	n := 0
	for _, im := range imgs {
		for _, ref := range append(im.RepoTags, im.RepoDigests...) {
			if strings.HasPrefix(ref, prefix) {
				n++
			}
		}
	}
	return n
}
