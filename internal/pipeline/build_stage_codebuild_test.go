package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/canaryflow/canaryflow/internal/build"
	"github.com/canaryflow/canaryflow/internal/registry"
)

// codeBuildStage is a Build stage with a local CodeBuild over a real
// embedded registry holding one image, hello:pushed; imageRuns counts
// canaryflow's own image builds.
func codeBuildStage(t *testing.T, mirror string, dockerReady func(context.Context) error) (Stage, *build.LocalCodeBuild, string, *int) {
	t.Helper()
	reg, err := registry.New(registry.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := build.Push(context.Background(), img, build.Target{Registry: u.Host, Repository: "hello", Tag: "pushed", Token: reg.Token()})
	if err != nil {
		t.Fatal(err)
	}
	cb := &build.LocalCodeBuild{Registry: u.Host, Repository: "hello", Container: "web", Account: "210987654321",
		Grant: reg.Grant, DockerReady: dockerReady,
		Resolve: reg.ResolveDigest}
	runs := new(int)
	stage := BuildStage(BuildStageOptions{MirrorDir: mirror, WorkRoot: t.TempDir(), Flow: flowOpts(), CodeBuild: cb,
		Image: func(context.Context, string, *Execution, io.Writer) (string, error) {
			*runs++
			return u.Host + "/hello:built@sha256:" + strings.Repeat("0", 64), nil
		}})
	return stage, cb, pushed.Digest, runs
}

func runStage(t *testing.T, stage Stage, r Release) (*Execution, string, error) {
	t.Helper()
	e := &Execution{ID: "e-000001", Tag: r.Tag, Version: r.Version.String(), Commit: r.Commit, Trigger: "poll"}
	var log bytes.Buffer
	err := stage.Run(context.Background(), e, &log)
	return e, log.String(), err
}

// TestBuildStageDeploysTheBuildsImage: the image a buildspec names in
// imageDetail.json, from $REPOSITORY_URI, is the execution's, pinned by
// digest; canaryflow's own image step does not run. The build's aws
// answers the account.
func TestBuildStageDeploysTheBuildsImage(t *testing.T) {
	mirror, r := releaseWith(t, map[string]string{"VERSION": "1.0.0\n", ".buildspec.yml": `version: 0.2
phases:
  build:
    commands:
      - echo "account $(aws sts get-caller-identity --query Account --output text) in $AWS_REGION"
      - printf '{"ImageURI":"%s"}' "$REPOSITORY_URI:pushed" > imageDetail.json
artifacts:
  files: [imageDetail.json]
`}, "v1.0.0")
	stage, cb, digest, runs := codeBuildStage(t, mirror, nil)
	e, log, err := runStage(t, stage, r)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, log)
	}
	if want := cb.Registry + "/hello:pushed@" + digest; e.Image != want || *runs != 0 {
		t.Errorf("image %q (own builds %d), want %s and none", e.Image, *runs, want)
	}
	if !strings.Contains(log, "account 210987654321 in us-east-1") {
		t.Errorf("log:\n%s", log)
	}
}

// TestBuildStageLocalCodeBuildErrors: a docker buildspec with no engine
// fails before any phase runs; an image file naming ECR, or an image
// never pushed, fails the stage; a build that writes no image file falls
// back to canaryflow's own image step.
func TestBuildStageLocalCodeBuildErrors(t *testing.T) {
	noEngine := func(context.Context) error { return errors.New("no engine at unix:///nowhere.sock") }
	for _, tc := range []struct {
		name, buildspec string
		ready           func(context.Context) error
		want            string // "" for success
		ownBuilds       int
	}{
		{"docker without an engine", "version: 0.2\nphases:\n  build:\n    commands:\n      - touch ran\n      - docker build -t \"$REPOSITORY_URI:x\" .\n", noEngine,
			"the buildspec runs docker, but no Docker engine answers (no engine at unix:///nowhere.sock; first: \"docker build -t \\\"$REPOSITORY_URI:x\\\" .\"). The process runtime runs tasks without Docker", 0},
		{"image in ECR", "version: 0.2\nphases:\n  build:\n    commands:\n      - printf '[{\"name\":\"web\",\"imageUri\":\"123456789012.dkr.ecr.us-west-2.amazonaws.com/hello:x\"}]' > imagedefinitions.json\nartifacts:\n  files: [imagedefinitions.json]\n", nil,
			"imagedefinitions.json names 123456789012.dkr.ecr.us-west-2.amazonaws.com/hello:x: the image is not in canaryflow's registry", 0},
		{"never pushed", "version: 0.2\nphases:\n  build:\n    commands:\n      - printf '{\"ImageURI\":\"%s\"}' \"$REPOSITORY_URI:never\" > imageDetail.json\nartifacts:\n  files: [imageDetail.json]\n", nil,
			"which is not in canaryflow's registry (did the buildspec push it?)", 0},
		{"no image file", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hello > out.txt\nartifacts:\n  files: [out.txt]\n", nil, "", 1},
		{"other aws commands", "version: 0.2\nphases:\n  build:\n    commands:\n      - aws s3 cp x s3://bucket/x\n", nil,
			`command "aws s3 cp x s3://bucket/x" exited 255`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mirror, r := releaseWith(t, map[string]string{"VERSION": "1.0.0\n", ".buildspec.yml": tc.buildspec}, "v1.0.0")
			stage, _, _, runs := codeBuildStage(t, mirror, tc.ready)
			_, log, err := runStage(t, stage, r)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("build: %v\n%s", err, log)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q\n%s", err, tc.want, log)
			}
			if *runs != tc.ownBuilds {
				t.Errorf("canaryflow's own image step ran %d times, want %d", *runs, tc.ownBuilds)
			}
			if tc.ready != nil && strings.Contains(log, "entering phase") {
				t.Errorf("a phase ran before the missing engine was found:\n%s", log)
			}
		})
	}
}
