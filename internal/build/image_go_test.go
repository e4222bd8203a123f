package build

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/canaryflow/canaryflow/internal/leakcheck"
	"github.com/canaryflow/canaryflow/internal/registry"
)

const helloDir = "../../examples/hello"

func startRegistry(t *testing.T) (*registry.Registry, string) {
	t.Helper()
	reg, err := registry.New(registry.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := registry.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { reg.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return reg, ln.Addr().String()
}

func TestGoImageIsReproducible(t *testing.T) {
	ctx := context.Background()
	opts := GoImageOptions{Dir: helloDir, Version: "1.2.3", Commit: "abc123"}
	a, err := GoImage(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := GoImage(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("two builds of the same source: %s != %s", da, db)
	}
	cfg, err := a.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Config.Entrypoint, " "); got != "/hello" {
		t.Errorf("entrypoint = %q", got)
	}
	if cfg.Config.Labels[LabelVersion] != "1.2.3" || cfg.Config.Labels[LabelRevision] != "abc123" {
		t.Errorf("labels = %v", cfg.Config.Labels)
	}
	layers, _ := a.Layers()
	if len(layers) != 1 {
		t.Fatalf("layers = %d, want 1", len(layers))
	}

	c, err := GoImage(ctx, GoImageOptions{Dir: helloDir, Version: "1.2.4", Commit: "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	if dc, _ := c.Digest(); dc == da {
		t.Fatal("a different version gave the same digest")
	}
}

func TestGoImageBadInput(t *testing.T) {
	for _, o := range []GoImageOptions{
		{},
		{Dir: helloDir, Version: "1.0 -X main.evil=1"},
		{Dir: helloDir, Name: "../x"},
	} {
		if _, err := GoImage(context.Background(), o); err == nil {
			t.Errorf("GoImage(%+v) succeeded", o)
		}
	}
	_, err := GoImage(context.Background(), GoImageOptions{Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "go build") {
		t.Fatalf("build of an empty dir = %v", err)
	}
}

func TestPushGoImage(t *testing.T) {
	reg, addr := startRegistry(t)
	img, err := GoImage(context.Background(), GoImageOptions{Dir: helloDir, Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Push(context.Background(), img, Target{Registry: addr, Repository: "hello", Tag: "v1.0.0", Token: reg.Token()})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if ref.Digest != want.String() || ref.String() != addr+"/hello:v1.0.0@"+want.String() {
		t.Fatalf("ref = %s", ref)
	}
	got, err := reg.Resolve("hello", "v1.0.0")
	if err != nil || got.Digest != ref.Digest {
		t.Fatalf("Resolve = %+v, %v", got, err)
	}
	if _, err := Push(context.Background(), img, Target{Registry: addr, Repository: "hello"}); err == nil {
		t.Fatal("anonymous push succeeded")
	}
}

// dockerClient returns a client for this machine's engine; a missing engine
// fails the test (the engine is part of this machine and of CI).
func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		t.Fatalf("docker engine does not answer (required by this test): %v", err)
	}
	return cli
}

func TestDockerfileImage(t *testing.T) {
	cli := dockerClient(t)
	reg, addr := startRegistry(t)
	dir := t.TempDir()
	df, err := os.ReadFile(filepath.Join(helloDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(helloDir)
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=2.0.0", "-o", filepath.Join(dir, "hello"), ".")
	build.Dir = abs
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var progress strings.Builder
	ref, err := DockerfileImage(context.Background(), DockerfileOptions{
		Dir: dir, Engine: cli, Progress: &progress,
		Labels: map[string]string{LabelVersion: "2.0.0"},
	}, Target{Registry: addr, Repository: leakcheck.Repo("hello-df"), Tag: "v2.0.0", Token: reg.Token()})
	if err != nil {
		t.Fatalf("DockerfileImage: %v\n%s", err, progress.String())
	}
	got, err := reg.Resolve(leakcheck.Repo("hello-df"), "v2.0.0")
	if err != nil || got.Digest != ref.Digest {
		t.Fatalf("Resolve = %+v, %v (ref %s)", got, err, ref)
	}

	_, err = DockerfileImage(context.Background(), DockerfileOptions{Dir: dir, Engine: cli},
		Target{Registry: addr, Repository: leakcheck.Repo("hello-df"), Tag: "anon"})
	if err == nil {
		t.Fatal("push without a token succeeded")
	}
}
