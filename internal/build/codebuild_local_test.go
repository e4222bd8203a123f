package build

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/canaryflow/canaryflow/internal/registry"
)

// localCodeBuild is a LocalCodeBuild over a real embedded registry on an
// httptest server, with its host.
func localCodeBuild(t *testing.T) (*LocalCodeBuild, *registry.Registry) {
	t.Helper()
	reg, err := registry.New(registry.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return &LocalCodeBuild{
		Registry: u.Host, Repository: "shop", Container: "web",
		Grant:   reg.Grant,
		Resolve: reg.ResolveDigest,
	}, reg
}

// runWith runs a command with exactly env and returns its output
// and exit code.
func runWith(t *testing.T, env map[string]string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out), 0
}

// TestLocalCodeBuildVariables: with no project file, the build gets what
// `aws render` writes, aimed at the embedded registry; a project file's
// variables win, every ECR name in them turns local, and its secret
// variables are resolved as the buildspec's secrets.
func TestLocalCodeBuildVariables(t *testing.T) {
	l, _ := localCodeBuild(t)
	ws := t.TempDir()
	e, err := l.Prepare(ws, "/usr/bin:/bin")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	want := map[string]string{
		"AWS_REGION": LocalRegion, "AWS_DEFAULT_REGION": LocalRegion, "AWS_ACCOUNT_ID": LocalAccount,
		"ECR_REGISTRY": l.Registry, "REPOSITORY_URI": l.Registry + "/shop", "IMAGE_REPO_NAME": "shop", "CONTAINER_NAME": "web",
	}
	for k, v := range want {
		if e.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, e.Env[k], v)
		}
	}
	if !strings.HasSuffix(e.Env["PATH"], ":/usr/bin:/bin") || !strings.HasPrefix(e.Env["PATH"], e.dir) {
		t.Errorf("PATH = %q: the build's own commands first, then the daemon's", e.Env["PATH"])
	}

	if err := os.MkdirAll(filepath.Join(ws, "aws"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(ws, "aws", "codebuild-project.json"), `{"name": "x", "environment": {"environmentVariables": [
  {"name": "AWS_REGION", "value": "eu-west-1"},
  {"name": "ECR_REGISTRY", "value": "210987654321.dkr.ecr.eu-west-1.amazonaws.com"},
  {"name": "IMAGE_URI", "value": "your-account-id.dkr.ecr.us-west-2.amazonaws.com/my-microservice:latest"},
  {"name": "REPOSITORY_URI", "value": "registry.example.com/elsewhere"},
  {"name": "GREETING", "value": "hello"},
  {"name": "NPM_TOKEN", "value": "/ci/npm", "type": "PARAMETER_STORE"}
]}}`)
	e2, err := l.Prepare(ws, "/bin")
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	for k, v := range map[string]string{
		"AWS_REGION": "eu-west-1", "ECR_REGISTRY": l.Registry, "IMAGE_URI": l.Registry + "/shop:latest",
		"REPOSITORY_URI": l.Registry + "/shop", "GREETING": "hello", "IMAGE_REPO_NAME": "shop",
	} {
		if e2.Env[k] != v {
			t.Errorf("with the project file, %s = %q, want %q", k, e2.Env[k], v)
		}
	}
	if e2.Env["NPM_TOKEN"] != "" || e2.SecretRefs["NPM_TOKEN"] != "PARAMETER_STORE:/ci/npm" {
		t.Errorf("secret variable: env %q, refs %v", e2.Env["NPM_TOKEN"], e2.SecretRefs)
	}
	if e2.Source != "aws/codebuild-project.json" {
		t.Errorf("source %q", e2.Source)
	}

	writeFile(t, filepath.Join(ws, "aws", "codebuild-project.json"), `{"environment": {"environmentVariables": [{"name": "A-B", "value": "x"}]}}`)
	if _, err := l.Prepare(ws, "/bin"); err == nil || !strings.Contains(err.Error(), `aws/codebuild-project.json`) || !strings.Contains(err.Error(), `"A-B" is not a variable name`) {
		t.Errorf("bad project file: %v", err)
	}
}

// TestLocalCodeBuildAWSCommand: the build's aws answers the login password
// (a grant the registry accepts while the build runs, and refuses after)
// and the caller identity; anything else is refused by name, or handed to
// the real CLI when a pass-through is configured.
func TestLocalCodeBuildAWSCommand(t *testing.T) {
	l, reg := localCodeBuild(t)
	l.Account = "210987654321"
	e, err := l.Prepare(t.TempDir(), os.Getenv("PATH"))
	if err != nil {
		t.Fatal(err)
	}
	aws := filepath.Join(e.dir, "bin", "aws")
	pw, code := runWith(t, e.Env, aws, "ecr", "get-login-password", "--region", "us-east-1")
	pw = strings.TrimSpace(pw)
	if code != 0 || len(e.Secrets) != 1 || pw != e.Secrets[0] || pw == reg.Token() {
		t.Fatalf("get-login-password: %q exit %d (secrets %d)", pw, code, len(e.Secrets))
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Push(context.Background(), img, Target{Registry: l.Registry, Repository: "shop", Tag: "v1", Token: pw}); err != nil {
		t.Fatalf("push with the build's password: %v", err)
	}
	for args, want := range map[string]string{
		"sts get-caller-identity --query Account --output text": "210987654321\n",
		"--region us-west-2 sts get-caller-identity":            `"Account": "210987654321"`,
	} {
		out, code := runWith(t, e.Env, aws, strings.Fields(args)...)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("aws %s: %q exit %d, want %q", args, out, code, want)
		}
	}
	out, code := runWith(t, e.Env, aws, "s3", "cp", "x", "s3://bucket/x")
	if code == 0 || !strings.Contains(out, "aws s3 cp: does not run locally") || !strings.Contains(out, "pipeline.build.aws_passthrough") {
		t.Errorf("aws s3 cp: %q exit %d", out, code)
	}
	e.Close()
	if _, err := os.Stat(e.dir); !os.IsNotExist(err) {
		t.Errorf("the build's directory outlived Close: %v", err)
	}
	if _, err := Push(context.Background(), img, Target{Registry: l.Registry, Repository: "shop", Tag: "v2", Token: pw}); err == nil {
		t.Error("the build's password still pushes after the build")
	}

	// A pass-through hands the rest, arguments intact, to the real CLI.
	real := filepath.Join(t.TempDir(), "aws")
	writeFile(t, real, "#!/bin/sh\nprintf 'real:%s|' \"$@\"\n")
	if err := os.Chmod(real, 0o700); err != nil {
		t.Fatal(err)
	}
	l.AWSCLI = real
	e, err = l.Prepare(t.TempDir(), os.Getenv("PATH"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	out, code = runWith(t, e.Env, filepath.Join(e.dir, "bin", "aws"), "s3", "ls", "s3://b; rm -rf x")
	if code != 0 || out != "real:s3|real:ls|real:s3://b; rm -rf x|" {
		t.Errorf("pass-through: %q exit %d", out, code)
	}
}

// TestLocalCodeBuildDockerLogin: the build's docker refuses a login to any
// registry but the embedded one, so its credential goes nowhere else; the
// rest goes to the real docker client.
func TestLocalCodeBuildDockerLogin(t *testing.T) {
	l, _ := localCodeBuild(t)
	fake := t.TempDir()
	writeFile(t, filepath.Join(fake, "docker"), "#!/bin/sh\nprintf 'real:%s|' \"$@\"\n")
	if err := os.Chmod(filepath.Join(fake, "docker"), 0o700); err != nil {
		t.Fatal(err)
	}
	e, err := l.Prepare(t.TempDir(), fake)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	docker := filepath.Join(e.dir, "bin", "docker")
	for _, args := range [][]string{
		{"login", "--username", "AWS", "--password-stdin", "registry.example.com"},
		{"login", "-u", "AWS", "--password-stdin"}, // Docker Hub
		{"--config", l.Registry, "login", "evil.example"},
	} {
		out, code := runWith(t, e.Env, docker, args...)
		if code == 0 || !strings.Contains(out, "refused: a local build logs in to canaryflow's registry "+l.Registry+" only") {
			t.Errorf("docker %v: %q exit %d", args, out, code)
		}
	}
	for _, args := range [][]string{
		{"login", "--username", "AWS", "--password-stdin", l.Registry},
		{"push", l.Registry + "/shop:v1"},
	} {
		out, code := runWith(t, e.Env, docker, args...)
		if code != 0 || !strings.HasPrefix(out, "real:"+args[0]) {
			t.Errorf("docker %v: %q exit %d", args, out, code)
		}
	}
}

// TestLocalCodeBuildErrors: a buildspec that runs docker where no engine
// answers, an image file naming another registry, or an image never
// pushed: each is a clear error.
func TestLocalCodeBuildErrors(t *testing.T) {
	l, reg := localCodeBuild(t)
	bs := mustParse(t, "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n      - docker build -t x .\n")
	l.DockerReady = func(context.Context) error { return errors.New("no engine at DOCKER_HOST") }
	err := l.CheckDocker(context.Background(), ".buildspec.yml", bs)
	if !errors.Is(err, ErrNoDockerForBuildspec) || !strings.Contains(err.Error(), "process runtime") ||
		!strings.Contains(err.Error(), `"docker build -t x ."`) || !strings.Contains(err.Error(), "pipeline.build.image: go") {
		t.Errorf("no engine: %v", err)
	}
	if err := l.CheckDocker(context.Background(), "b", mustParse(t, "version: 0.2\nphases:\n  build:\n    commands: [make dockerize]\n")); err != nil {
		t.Errorf("a buildspec without docker: %v", err)
	}
	l.DockerReady = func(context.Context) error { return nil }
	if err := l.CheckDocker(context.Background(), "b", bs); err != nil {
		t.Errorf("with an engine: %v", err)
	}

	arts := t.TempDir()
	if img, _, err := l.DeployedImage(arts); img != "" || err != nil {
		t.Errorf("no image file: %q %v", img, err)
	}
	writeFile(t, filepath.Join(arts, "imagedefinitions.json"), `[{"name":"other","imageUri":"x/y:1"}]`)
	if _, _, err := l.DeployedImage(arts); err == nil || !strings.Contains(err.Error(), `no entry for container "web" (found "other")`) {
		t.Errorf("no entry for the container: %v", err)
	}
	writeFile(t, filepath.Join(arts, "imagedefinitions.json"), `[{"name":"web","imageUri":"123456789012.dkr.ecr.us-west-2.amazonaws.com/shop:abc"}]`)
	img, file, err := l.DeployedImage(arts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Pin(file, img); !errors.Is(err, ErrForeignImage) || !strings.Contains(err.Error(), "imagedefinitions.json names 123456789012.dkr.ecr") {
		t.Errorf("foreign registry: %v", err)
	}
	writeFile(t, filepath.Join(arts, "imageDetail.json"), `{"ImageURI": "`+l.Registry+`/shop:abc"}`)
	img, file, err = l.DeployedImage(arts)
	if err != nil || file != "imageDetail.json" {
		t.Fatalf("imageDetail.json first: %q %q %v", img, file, err)
	}
	if _, err := l.Pin(file, img); err == nil || !strings.Contains(err.Error(), "not in canaryflow's registry (did the buildspec push it?)") {
		t.Errorf("never pushed: %v", err)
	}
	im, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := Push(context.Background(), im, Target{Registry: l.Registry, Repository: "shop", Tag: "abc", Token: reg.Token()})
	if err != nil {
		t.Fatal(err)
	}
	if ref, err := l.Pin(file, img); err != nil || ref != l.Registry+"/shop:abc@"+pushed.Digest {
		t.Errorf("pinned %q %v, want …@%s", ref, err, pushed.Digest)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
