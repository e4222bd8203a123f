package runtime

import (
	"context"
	"testing"
	"time"
)

// TestImagesInUse: a running task of either runtime holds its image; an
// exited one does not. The registry's lifecycle rule and `image rm` rely on
// this answer to keep what runs.
func TestImagesInUse(t *testing.T) {
	img := helloImage(t)
	ctx := context.Background()
	dir := processDir(t)
	p, err := NewProcess(ProcessOptions{Dir: dir, RegistryToken: img.token, RegistryHost: img.host})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background(), time.Second) })

	used, err := ImagesInUse(ctx, dir, img.token)
	if err != nil {
		t.Fatal(err)
	}
	task, err := p.Start(ctx, TaskSpec{Image: img.ref, Service: uniqueService(t)})
	if err != nil {
		t.Fatal(err)
	}
	if used[task.ImageDigest] {
		t.Fatalf("image %s in use before any task ran", task.ImageDigest)
	}
	if used, err = ImagesInUse(ctx, dir, img.token); err != nil || !used[task.ImageDigest] {
		t.Fatalf("with a running process task: in use = %v, %v; want %s", used, err, task.ImageDigest)
	}
	if err := p.Stop(ctx, task.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if used, err = ImagesInUse(ctx, dir, img.token); err != nil || used[task.ImageDigest] {
		t.Fatalf("after the task stopped: in use = %v, %v; want without %s", used, err, task.ImageDigest)
	}

	// A container holds its image too, seen from a process directory that
	// never ran anything.
	service := uniqueService(t)
	cli := dockerClient(t)
	cleanupContainers(t, cli, service, img.ref)
	d, err := NewDocker(DockerOptions{Client: cli, RegistryToken: img.token, RegistryHost: img.host})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := d.Start(ctx, TaskSpec{Image: img.ref, Service: service})
	if err != nil {
		t.Fatal(err)
	}
	if used, err = ImagesInUse(ctx, t.TempDir(), img.token); err != nil || !used[ct.ImageDigest] {
		t.Fatalf("with a running container: in use = %v, %v; want %s", used, err, ct.ImageDigest)
	}
}
