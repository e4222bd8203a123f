package awsfmt

import "bytes"

// Files a CodeBuild build hands to the deploy stage.
const (
	// BuildspecFileName is where CodeBuild (and canaryflow's local build)
	// reads the build's phases.
	BuildspecFileName = ".buildspec.yml"
	// ImageDetailFileName is what CodePipeline's CodeDeployToECS action
	// reads the built image from ({"ImageURI": "..."}).
	ImageDetailFileName = "imageDetail.json"
	// ImageDefinitionsFileName is what the ECS deploy action reads
	// ([{"name": container, "imageUri": "..."}]).
	ImageDefinitionsFileName = "imagedefinitions.json"
)

// BuildspecOptions says which image file the rendered buildspec writes.
type BuildspecOptions struct {
	// ImageDefinitions writes imagedefinitions.json for the ECS deploy
	// action (ECS-native blue/green). Zero writes imageDetail.json and
	// passes taskdef.json and appspec.yaml on for CodeDeployToECS.
	ImageDefinitions bool
}

// RenderBuildspec writes a CodeBuild buildspec (version 0.2) that logs in
// to ECR, builds the repository's Dockerfile, pushes the image tagged with
// the commit and writes the image file the deploy action reads. It reads
// REPOSITORY_URI and CONTAINER_NAME from the build's environment, so the
// same file works in every account and region.
func RenderBuildspec(o BuildspecOptions) []byte {
	var b bytes.Buffer
	b.WriteString(`version: 0.2
env:
  shell: bash
phases:
  pre_build:
    commands:
      - aws ecr get-login-password --region "$AWS_DEFAULT_REGION" | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"
      - IMAGE_TAG="${CODEBUILD_RESOLVED_SOURCE_VERSION:0:12}"
  build:
    commands:
      - docker build --tag "$REPOSITORY_URI:$IMAGE_TAG" .
  post_build:
    commands:
      - docker push "$REPOSITORY_URI:$IMAGE_TAG"
`)
	if o.ImageDefinitions {
		b.WriteString(`      - printf '[{"name":"%s","imageUri":"%s"}]' "$CONTAINER_NAME" "$REPOSITORY_URI:$IMAGE_TAG" > ` + ImageDefinitionsFileName + `
artifacts:
  files:
    - ` + ImageDefinitionsFileName + "\n")
		return b.Bytes()
	}
	b.WriteString(`      - printf '{"ImageURI":"%s"}' "$REPOSITORY_URI:$IMAGE_TAG" > ` + ImageDetailFileName + `
artifacts:
  files:
    - ` + ImageDetailFileName + `
    - ` + TaskDefFileName + `
    - ` + AppSpecFileName + "\n")
	return b.Bytes()
}
