package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canaryflow/canaryflow/internal/leakcheck"
)

// noEngine points the Docker client at a socket nobody listens on.
func noEngine(t *testing.T) {
	t.Helper()
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-engine.sock"))
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestChoose checks both auto rules in one place: the image command's
// (a Go main package first) and the pipeline's (a Dockerfile first, when
// an engine answers), with no engine answering.
func TestChoose(t *testing.T) {
	noEngine(t)
	mainGo := "package main\n\nfunc main() {}\n"
	both := writeFiles(t, map[string]string{"main.go": mainGo, "Dockerfile": "FROM scratch\n"})
	onlyGo := writeFiles(t, map[string]string{"main.go": mainGo})
	onlyDockerfile := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\n", "lib.go": "package lib\n"})
	onlyTest := writeFiles(t, map[string]string{"main_test.go": mainGo})
	for _, tc := range []struct {
		name    string
		opts    ImageOptions
		want    string
		wantErr error
	}{
		{"explicit go", ImageOptions{Builder: BuilderGo, Dir: onlyDockerfile}, BuilderGo, nil},
		{"explicit dockerfile", ImageOptions{Builder: BuilderDockerfile, Dir: onlyGo}, BuilderDockerfile, nil},
		{"cli: main package wins", ImageOptions{Dir: both}, BuilderGo, nil},
		{"cli: Dockerfile without Go", ImageOptions{Builder: BuilderAuto, Dir: onlyDockerfile}, BuilderDockerfile, nil},
		{"cli: a test file is not a main package", ImageOptions{Dir: onlyTest}, "", ErrNoBuilder},
		{"pipeline: Dockerfile but no engine", ImageOptions{PreferDockerfile: true, Dir: both}, BuilderGo, nil},
		{"pipeline: no Dockerfile", ImageOptions{PreferDockerfile: true, Dir: onlyGo}, BuilderGo, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Choose(context.Background(), tc.opts)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("Choose = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestChoosePrefersDockerfileWithEngine: the pipeline's rule takes the
// Dockerfile when this machine's engine answers.
func TestChoosePrefersDockerfileWithEngine(t *testing.T) {
	dockerClient(t) // the engine is required here
	eng := &Engine{}
	t.Cleanup(eng.Close)
	got, err := Choose(context.Background(), ImageOptions{PreferDockerfile: true, Dir: helloDir, Engine: eng})
	if err != nil || got != BuilderDockerfile {
		t.Fatalf("Choose = %q, %v; want dockerfile", got, err)
	}
}

func TestImageOptionsValidate(t *testing.T) {
	target := Target{Registry: "127.0.0.1:5000", Repository: "hello", Tag: "v1"}
	for _, tc := range []struct {
		name string
		opts ImageOptions
		ok   bool
	}{
		{"zero builder is auto", ImageOptions{Dir: ".", Target: target}, true},
		{"unknown builder", ImageOptions{Builder: "kaniko", Dir: ".", Target: target}, false},
		{"no dir", ImageOptions{Target: target}, false},
		{"no target", ImageOptions{Dir: "."}, false},
		{"bad extra tag", ImageOptions{Dir: ".", Target: target, AlsoTags: []string{"no spaces"}}, false},
	} {
		if err := tc.opts.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
	}
}

// TestImageGoWithAlsoTags builds the example with the go builder through
// Image and finds the image under its tag and its extra tag.
func TestImageGoWithAlsoTags(t *testing.T) {
	noEngine(t)
	reg, addr := startRegistry(t)
	ref, err := Image(context.Background(), ImageOptions{
		Builder: BuilderAuto, PreferDockerfile: true, Dir: helloDir, Name: "hello", Version: "1.0.0", Commit: "abc1234",
		Target: Target{Registry: addr, Repository: "hello", Tag: "1.0.0", Token: reg.Token()}, AlsoTags: []string{"abc1234"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"1.0.0", "abc1234"} {
		got, err := reg.Resolve("hello", tag)
		if err != nil || got.Digest != ref.Digest {
			t.Errorf("tag %s: %+v, %v; want %s", tag, got, err, ref.Digest)
		}
	}
}

// TestImageDockerfileWithAlsoTags builds a FROM scratch Dockerfile through
// the engine and gives the pushed image its extra tag in the registry.
func TestImageDockerfileWithAlsoTags(t *testing.T) {
	dockerClient(t)
	reg, addr := startRegistry(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n", "hello.txt": "hello\n"})
	repo := leakcheck.Repo("image-also")
	var progress strings.Builder
	ref, err := Image(context.Background(), ImageOptions{
		Dir: dir, Version: "2.0.0", Commit: "def5678", Progress: &progress,
		Target: Target{Registry: addr, Repository: repo, Tag: "2.0.0", Token: reg.Token()}, AlsoTags: []string{"def5678"},
	})
	if err != nil {
		t.Fatalf("Image: %v\n%s", err, progress.String())
	}
	for _, tag := range []string{"2.0.0", "def5678"} {
		got, err := reg.Resolve(repo, tag)
		if err != nil || got.Digest != ref.Digest {
			t.Errorf("tag %s: %+v, %v; want %s", tag, got, err, ref.Digest)
		}
	}
}

// TestImageDockerfileWithoutEngine fails with ErrNoEngine and pushes nothing.
func TestImageDockerfileWithoutEngine(t *testing.T) {
	noEngine(t)
	reg, addr := startRegistry(t)
	_, err := Image(context.Background(), ImageOptions{Builder: BuilderDockerfile, Dir: helloDir,
		Target: Target{Registry: addr, Repository: "hello", Tag: "v1", Token: reg.Token()}})
	if !errors.Is(err, ErrNoEngine) {
		t.Fatalf("Image = %v, want ErrNoEngine", err)
	}
	if repos, err := reg.Repositories(); err != nil || len(repos) != 0 {
		t.Errorf("repositories after a failed build: %v, %v", repos, err)
	}
}
