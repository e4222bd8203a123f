package cli

import (
	"fmt"
	"regexp"
)

// starterAWS is the aws section `init --aws` writes: every key, commented
// where its zero value is the one to start with.
const starterAWS = `
# On AWS (canaryflow aws render | doctor | plan | apply | deploy): the same
# service as CodePipeline V2 (tag trigger) → CodeBuild → ECR → CodeDeploy
# blue/green → ECS Fargate behind an ALB. The same repository releases in
# both places: the .buildspec.yml aws render writes also runs locally.
aws:
  # region: us-west-2          # zero: AWS_REGION or the profile's region
  # account: "111122223333"    # zero: the credentials' account (sts get-caller-identity)
  controller: CODE_DEPLOY      # or ECS: ECS's own canary, no CodeDeploy
  cpu: 256                     # Fargate task size, CPU units
  memory: 512                  # MiB
  # connection_arn: arn:aws:codestar-connections:REGION:ACCOUNT:connection/ID   # zero: apply creates one, approved once in the console
  # github_repo: OWNER/NAME    # zero: the origin remote's, when on GitHub
  # tag_pattern: "v*"          # zero: the tag prefix and "*"
  # subnets: [subnet-0123456789abcdef0]        # zero: the default VPC's
  # security_groups: [sg-0123456789abcdef0]    # zero: canaryflow creates one for the ALB, one for the tasks
  # private_tasks: false       # true: no public IPs (needs a NAT gateway or VPC endpoints)
  # test_listener_cidrs: [203.0.113.0/24]      # zero: the test listener is reachable from nowhere
`

// starterPipeline is the pipeline section `init --pipeline` writes.
const starterPipeline = `
# The local pipeline (canaryflow up): a new strict-SemVer tag on main runs
# Source → Build → Deploy. Build runs .buildspec.yml as CodeBuild does (the
# project's variables, aws ecr get-login-password, docker push to the local
# registry), and deploys the image its imageDetail.json or
# imagedefinitions.json names.
pipeline:
  # source: ../origin.git      # zero: the origin remote's URL
  poll_interval: 1s
  tags: {include: ["v*"], exclude: []}
  mode: SUPERSEDED             # or QUEUED
  build:
    image: auto                # when the buildspec names no image: auto | go | dockerfile
    package: .                 # the Go main package of a daemonless (go) build
    timeout: 30m
    # secret_env: [NPM_TOKEN]  # canaryflow's variables a buildspec's secrets may read (redacted in logs)
    # pass_env: [GOFLAGS]      # canaryflow's variables passed to the buildspec's commands as they are
    # aws_passthrough: false   # true: aws commands other than ecr get-login-password and sts get-caller-identity go to the AWS CLI
`

var (
	hasAWSSection      = regexp.MustCompile(`(?m)^aws:`)
	hasPipelineSection = regexp.MustCompile(`(?m)^pipeline:`)
)

// initSections returns the sections to add to text, or an error naming a
// section text already has.
func initSections(text string, withAWS, withPipeline bool) (string, error) {
	add := ""
	if withAWS {
		if hasAWSSection.MatchString(text) {
			return "", usageErrorf("init --aws: canaryflow.yaml has an aws section already")
		}
		add += starterAWS
	}
	if withPipeline {
		if hasPipelineSection.MatchString(text) {
			return "", usageErrorf("init --pipeline: canaryflow.yaml has a pipeline section already")
		}
		add += starterPipeline
	}
	return add, nil
}

// initHint is what init says about the sections it did not write.
func initHint(withAWS, withPipeline bool) string {
	switch {
	case withAWS && withPipeline:
		return ""
	case withAWS:
		return "canaryflow init --pipeline adds the local pipeline section (tags → build → deploy)\n"
	case withPipeline:
		return "canaryflow init --aws adds the aws section (the same release on AWS)\n"
	}
	return fmt.Sprintf("%s\n%s\n",
		"canaryflow init --pipeline adds the local pipeline section (tags → build → deploy);",
		"canaryflow init --aws adds the aws section (the same release on AWS); both add to an existing canaryflow.yaml")
}
