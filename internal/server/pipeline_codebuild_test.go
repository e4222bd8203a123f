package server

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/leakcheck"
	"github.com/canaryflow/canaryflow/internal/pipeline"
	"github.com/canaryflow/canaryflow/internal/registry"
)

// codeBuildConfig is a service named name, run in Docker, whose pipeline
// polls origin; extra is added to the pipeline section.
func codeBuildConfig(t *testing.T, name, container, origin, extra string) *config.Config {
	t.Helper()
	doc := fmt.Sprintf(`service:
  name: %s
  container: {name: %s, port: 3000}
  runtime: docker
  health_check: {path: /healthz, interval: 500ms, timeout: 400ms, healthy_threshold: 2}
  listeners: {production_port: %d, test_port: %d}
%spipeline:
  source: %s
  poll_interval: 200ms
%s`, name, container, freePort(t), freePort(t), testDeploySettings, origin, extra)
	c, err := config.Parse("canaryflow.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// codeBuildRepo makes a bare origin and a work tree with the hello service
// and its FROM scratch Dockerfile, plus files.
func codeBuildRepo(t *testing.T, files map[string]string) (origin, work string) {
	t.Helper()
	origin, work = originAndWork(t, "svc")
	for _, f := range []string{"main.go", "Dockerfile"} {
		src, err := os.ReadFile("../../examples/hello/" + f)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(work, f), string(src))
	}
	writeFile(t, filepath.Join(work, "go.mod"), "module example.com/hello\n\ngo 1.26\n")
	for name, body := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(work, name), body)
	}
	gitIn(t, work, "add", ".")
	gitIn(t, work, "commit", "-q", "-m", "service")
	gitIn(t, work, "push", "-q", "origin", "main")
	return origin, work
}

// removeRepoImagesAtEnd removes from the Docker engine, when the test
// ends, every image tagged or pulled as host/repo: what this test's
// buildspec built and its docker runtime pulled (host is the test's own
// registry, on a port of its own).
func removeRepoImagesAtEnd(t *testing.T, host *string, repo string) {
	t.Cleanup(func() {
		if *host == "" {
			return
		}
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			t.Error(err)
			return
		}
		defer cli.Close()
		ctx := context.Background()
		imgs, err := cli.ImageList(ctx, image.ListOptions{All: true})
		if err != nil {
			t.Error(err)
			return
		}
		prefix := *host + "/" + repo
		for _, im := range imgs {
			for _, ref := range append(append([]string{}, im.RepoTags...), im.RepoDigests...) {
				if strings.HasPrefix(ref, prefix+":") || strings.HasPrefix(ref, prefix+"@") {
					if _, err := cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !client.IsErrNotFound(err) {
						t.Errorf("remove image %s: %v", ref, err)
					}
				}
			}
		}
	})
}

// released waits for the execution of tag, wants it Succeeded and
// production answering version, and returns it with its log.
func (d *daemon) released(tag, version string) (*pipeline.Execution, string) {
	d.t.Helper()
	e := d.waitExecution(tag)
	log := d.executionLog(e.ID)
	if e.Status != pipeline.Succeeded {
		d.t.Fatalf("%s: %s %s\n%s", tag, e.Status, e.Error, log)
	}
	if code, body := getVersion(d.t, d.prod); code != 200 || body != "Version: "+version {
		d.t.Errorf("production answers %d %q, want Version: %s", code, body, version)
	}
	return e, log
}

// logSays wants each of says in a build log.
func logSays(t *testing.T, log string, says ...string) {
	t.Helper()
	for _, s := range says {
		if !strings.Contains(log, s) {
			t.Errorf("the build log does not say %q:\n%s", s, log)
		}
	}
}

// executionLog is the whole log of execution id.
func (d *daemon) executionLog(id string) string {
	d.t.Helper()
	rc, err := d.client.ExecutionLogs(context.Background(), id, false)
	if err != nil {
		d.t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

// buildConfinement checks what a build's log says of its Docker login: the
// credential was stored in a configuration of the build's own, which is
// gone now, and the registry's own token never appears.
func buildConfinement(t *testing.T, log, stateDir string) {
	t.Helper()
	m := regexp.MustCompile(`stored unencrypted in '?([^'\s]+config\.json)`).FindStringSubmatch(log)
	if m == nil {
		t.Errorf("the log does not show docker login storing its credential:\n%s", log)
	} else if !strings.Contains(m[1], "/canaryflow-codebuild-") || !filepath.IsAbs(m[1]) {
		t.Errorf("docker login stored the credential in %s, not the build's own configuration", m[1])
	} else if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("the build's Docker configuration %s outlived the build (%v)", m[1], err)
	}
	token, err := registry.LoadOrCreateToken(filepath.Join(stateDir, "registry"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log, token) {
		t.Error("the registry's token is in the build log")
	}
}

// TestPipelineRenderedBuildspecLocally: the buildspec `aws render` writes
// for CodeBuild, plus one line that compiles the Go binary, runs unchanged
// in the local pipeline: it logs in with `aws ecr get-login-password`,
// builds, tags and pushes through the Docker engine to the embedded
// registry, writes imageDetail.json, and that image (pinned by digest) is
// the one deployed, in Docker.
func TestPipelineRenderedBuildspecLocally(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a container image")
	}
	rendered := string(awsfmt.RenderBuildspec(awsfmt.BuildspecOptions{}))
	const dockerBuild = "      - docker build"
	if !strings.Contains(rendered, dockerBuild) {
		t.Fatalf("the rendered buildspec has no docker build:\n%s", rendered)
	}
	buildspec := strings.Replace(rendered, dockerBuild,
		`      - CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=$(cat VERSION)" -o hello .`+"\n"+dockerBuild, 1)
	name := leakcheck.Repo("hello")
	origin, work := codeBuildRepo(t, map[string]string{".buildspec.yml": buildspec, "VERSION": "0.0.0\n",
		"canaryflow.yaml": "service:\n  name: " + name + "\n  container: {port: 3000}\n" + testDeploySettings})
	state := t.TempDir()
	cfg := codeBuildConfig(t, name, name, origin, "")
	var host string
	removeRepoImagesAtEnd(t, &host, name)
	d := startDaemon(t, state, cfg)
	host = d.info.Registry
	defer d.stopWithTasks(state, cfg)

	pushRelease(t, work, "1.0.0", "1.0.0", nil)
	e, log := d.released("v1.0.0", "1.0.0")
	want := host + "/" + name + ":" + e.Commit[:12] + "@sha256:"
	if !strings.HasPrefix(e.Image, want) {
		t.Errorf("deployed image %q, want the one the buildspec pushed, %s…", e.Image, want)
	}
	logSays(t, log, "project variables from the variables aws render writes", "REPOSITORY_URI="+host+"/"+name,
		"Login Succeeded", "(from the build's imageDetail.json)")
	if strings.Contains(log, "canaryflow builds the image") || strings.Contains(log, "daemonless Go build") {
		t.Errorf("canaryflow's own image builder ran after the buildspec pushed an image:\n%s", log)
	}
	buildConfinement(t, log, state)
}

// TestPipelineGuideBuildspecLocally: the guide's own buildspec (§4.1.1),
// with only its two YAML slips quoted, runs locally with the guide's
// CodeBuild project variables (AWS_REGION, ECR_REGISTRY of a real-looking
// account, IMAGE_REPO_NAME): package.json carries the version, the image
// is pushed as my-microservice, and imagedefinitions.json's my-container
// entry is what is deployed.
func TestPipelineGuideBuildspecLocally(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a container image")
	}
	guide, err := os.ReadFile("../awsfmt/testdata/guide-buildspec.yml")
	if err != nil {
		t.Fatal(err)
	}
	buildspec := strings.NewReplacer(
		`- echo "Repository URI: $REPOSITORY_URI"`, `- 'echo "Repository URI: $REPOSITORY_URI"'`,
		`- echo "Image Tag: $IMAGE_TAG"`, `- 'echo "Image Tag: $IMAGE_TAG"'`,
	).Replace(string(guide))
	project := `{
  "name": "my-microservice-build",
  "source": {"type": "CODEPIPELINE", "buildspec": ".buildspec.yml"},
  "artifacts": {"type": "CODEPIPELINE"},
  "environment": {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/amazonlinux2-x86_64-standard:3.0",
    "computeType": "BUILD_GENERAL1_SMALL",
    "environmentVariables": [
      {"name": "AWS_REGION", "value": "us-west-2"},
      {"name": "ECR_REGISTRY", "value": "210987654321.dkr.ecr.us-west-2.amazonaws.com"},
      {"name": "IMAGE_REPO_NAME", "value": "my-microservice"}
    ],
    "privilegedMode": true
  },
  "serviceRole": "arn:aws:iam::210987654321:role/CodeBuildServiceRole"
}
`
	pkg := func(v string) string {
		return `{ "name": "my-microservice", "version": "` + v + `", "main": "index.js", "scripts": { "start": "node index.js" } }` + "\n"
	}
	name := leakcheck.Repo("my-microservice")
	origin, work := codeBuildRepo(t, map[string]string{".buildspec.yml": buildspec, "package.json": pkg("0.0.0"),
		awsfmt.CodeBuildProjectFileName: project,
		"canaryflow.yaml":               "service:\n  name: " + name + "\n  container: {name: my-container, port: 3000}\n" + testDeploySettings})
	state := t.TempDir()
	cfg := codeBuildConfig(t, name, "my-container", origin, "  build: {repository: my-microservice}\n")
	var host string
	removeRepoImagesAtEnd(t, &host, "my-microservice")
	d := startDaemon(t, state, cfg)
	host = d.info.Registry
	defer d.stopWithTasks(state, cfg)

	// The guide's buildspec builds no binary: the release carries it, as a
	// Node service carries its sources.
	writeFile(t, filepath.Join(work, "package.json"), pkg("1.0.0"))
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version=1.0.0", "-o", "hello", ".")
	cmd.Dir, cmd.Env = work, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	gitIn(t, work, "add", ".")
	gitIn(t, work, "commit", "-q", "-m", "release 1.0.0")
	gitIn(t, work, "tag", "-a", "-m", "Release 1.0.0", "v1.0.0")
	gitIn(t, work, "push", "-q", "origin", "main", "v1.0.0")

	e, log := d.released("v1.0.0", "1.0.0")
	want := host + "/my-microservice:" + e.Commit[:7] + "@sha256:"
	if !strings.HasPrefix(e.Image, want) {
		t.Errorf("deployed image %q, want the one imagedefinitions.json names, %s…", e.Image, want)
	}
	logSays(t, log, "project variables from aws/codebuild-project.json", "ECR_REGISTRY="+host+" ", "AWS_REGION=us-west-2",
		"Repository URI: "+host+"/my-microservice", "Login Succeeded", "(from the build's imagedefinitions.json)")
	buildConfinement(t, log, state)
}
