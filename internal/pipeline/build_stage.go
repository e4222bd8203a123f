package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/build"
	"github.com/canaryflow/canaryflow/internal/flow"
	"github.com/canaryflow/canaryflow/internal/git"
	"github.com/canaryflow/canaryflow/internal/userfile"
)

// BuildStageOptions configure the local CodeBuild stage.
type BuildStageOptions struct {
	// MirrorDir is the source's bare mirror; workspaces are cloned from it.
	MirrorDir string
	// WorkRoot holds one clean workspace per execution.
	WorkRoot string
	// Project names the build in CODEBUILD_BUILD_ID; zero means "canaryflow".
	Project string
	// Flow are the release settings used for the version check (version
	// files, tag prefix).
	Flow flow.Options
	// Env is added to the buildspec's environment (after CodeBuild's own
	// variables, before the buildspec's).
	Env map[string]string
	// Secrets are values redacted from the build log (the buildspec's own
	// parameter-store / secrets-manager values are redacted too).
	Secrets []string
	// Getenv reads canaryflow's environment for the buildspec's secrets;
	// zero means os.Getenv.
	Getenv func(string) string
	// SecretEnv names the variables of canaryflow's environment a
	// buildspec's parameter-store / secrets-manager entries may resolve
	// (pipeline.build.secret_env); any other name is not set, so a
	// buildspec cannot ask for the daemon's own secrets by name.
	SecretEnv []string
	// PassEnv names variables of canaryflow's environment passed to the
	// buildspec's commands when set (pipeline.build.pass_env), besides the
	// few every build inherits (see build.RunOptions.Environ).
	PassEnv []string
	// Image builds the image from the workspace and pushes it, returning its
	// reference with digest. Required.
	Image func(ctx context.Context, workspace string, e *Execution, log io.Writer) (string, error)
	// CodeBuild, when set, gives the buildspec what CodeBuild would (the
	// project's variables, an aws command, docker aimed at the embedded
	// registry), and the image the buildspec pushes and names in
	// imageDetail.json or imagedefinitions.json is the one deployed: Image
	// runs only when the build writes neither. Zero runs the buildspec
	// with the variables above only.
	CodeBuild *build.LocalCodeBuild
	// Keep leaves workspaces on disk after the build (for debugging).
	Keep bool
}

// BuildStage returns the Build stage: a clean checkout of the tag's commit,
// `canaryflow version check` (every version file must say the tag's
// version: the guide's consistency rule), the repository's buildspec when
// it has one (.buildspec.yml or buildspec.yml), then the image.
func BuildStage(o BuildStageOptions) Stage {
	if o.Project == "" {
		o.Project = "canaryflow"
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	return Stage{Name: "Build", Run: func(ctx context.Context, e *Execution, log io.Writer) error {
		if !validSHA(e.Commit) {
			return fmt.Errorf("commit %q is not an object name", e.Commit)
		}
		ws := filepath.Join(o.WorkRoot, e.ID)
		if err := os.RemoveAll(ws); err != nil {
			return fmt.Errorf("clean workspace: %w", err)
		}
		if err := os.MkdirAll(o.WorkRoot, 0o755); err != nil {
			return fmt.Errorf("workspace: %w", err)
		}
		if !o.Keep {
			defer os.RemoveAll(ws)
		}
		fmt.Fprintf(log, "[canaryflow] checking out %s (%s) into a clean workspace\n", e.Tag, e.Commit[:12])
		g := &git.Repo{Dir: o.WorkRoot}
		if _, err := g.Run(ctx, "clone", "--quiet", "--no-checkout", "--", o.MirrorDir, ws); err != nil {
			return fmt.Errorf("checkout: %w", err)
		}
		repo := &git.Repo{Dir: ws}
		if _, err := repo.Run(ctx, "checkout", "--quiet", "--detach", e.Commit); err != nil {
			return fmt.Errorf("checkout %s: %w", e.Commit, err)
		}

		fmt.Fprintf(log, "[canaryflow] version check: version files must say %s\n", e.Version)
		f, err := flow.New(repo, o.Flow, log)
		if err != nil {
			return err
		}
		res, err := f.Check(ctx, e.Version)
		if err != nil {
			return fmt.Errorf("version check: %w", err)
		}
		if len(res.Bad) > 0 {
			var parts []string
			for _, m := range res.Bad {
				if m.Err != nil {
					parts = append(parts, fmt.Sprintf("%s: %v", m.File, m.Err))
				} else {
					parts = append(parts, fmt.Sprintf("%s says %s", m.File, m.Got))
				}
			}
			return fmt.Errorf("version check: tag %s but %s", e.Tag, strings.Join(parts, ", "))
		}
		fmt.Fprintf(log, "[canaryflow] version check ok (%d files)\n", len(res.Files))

		artifacts, err := runBuildspec(ctx, o, ws, e, log)
		if err != nil {
			return err
		}
		if o.CodeBuild != nil && artifacts != "" {
			image, file, err := o.CodeBuild.DeployedImage(artifacts)
			if err != nil {
				return err
			}
			if image != "" {
				ref, err := o.CodeBuild.Pin(file, image)
				if err != nil {
					return err
				}
				e.Image = ref
				fmt.Fprintf(log, "[canaryflow] image %s (from the build's %s)\n", ref, file)
				return nil
			}
			fmt.Fprintf(log, "[canaryflow] the build wrote neither %s nor %s: canaryflow builds the image\n", awsfmt.ImageDetailFileName, awsfmt.ImageDefinitionsFileName)
		}
		if o.Image == nil {
			return errors.New("build stage: no image builder")
		}
		ref, err := o.Image(ctx, ws, e, log)
		if err != nil {
			return fmt.Errorf("image: %w", err)
		}
		e.Image = ref
		fmt.Fprintf(log, "[canaryflow] image %s\n", ref)
		return nil
	}}
}

// runBuildspec runs the repository's buildspec, if it has one, with
// CodeBuild's variables where they make sense locally, and returns the
// directory its artifacts were copied to ("" without a buildspec).
func runBuildspec(ctx context.Context, o BuildStageOptions, ws string, e *Execution, log io.Writer) (string, error) {
	var name string
	for _, n := range []string{".buildspec.yml", "buildspec.yml", ".buildspec.yaml", "buildspec.yaml"} {
		if _, err := os.Stat(filepath.Join(ws, n)); err == nil {
			name = n
			break
		}
	}
	if name == "" {
		fmt.Fprintln(log, "[canaryflow] no buildspec in the repository: building the image only")
		return "", nil
	}
	data, err := userfile.Read(filepath.Join(ws, name))
	if err != nil {
		return "", err
	}
	bs, err := build.ParseBuildspec(name, data)
	if err != nil {
		return "", err
	}
	env := map[string]string{
		"CODEBUILD_BUILD_ID":                o.Project + ":" + e.ID,
		"CODEBUILD_BUILD_NUMBER":            strings.TrimLeft(strings.TrimPrefix(e.ID, "e-"), "0"),
		"CODEBUILD_INITIATOR":               "canaryflow/" + e.Trigger,
		"CODEBUILD_RESOLVED_SOURCE_VERSION": e.Commit,
		"CODEBUILD_SOURCE_VERSION":          "refs/tags/" + e.Tag,
		"CODEBUILD_WEBHOOK_TRIGGER":         "tag/" + e.Tag,
		"CODEBUILD_LOCAL":                   "true",
		"CANARYFLOW_LOCAL":                  "true",
		"CANARYFLOW_VERSION":                e.Version,
		"CANARYFLOW_TAG":                    e.Tag,
	}
	for k, v := range o.Env {
		env[k] = v
	}
	secrets := o.Secrets
	if o.CodeBuild != nil {
		if err := o.CodeBuild.CheckDocker(ctx, name, bs); err != nil {
			return "", err
		}
		cb, err := o.CodeBuild.Prepare(ws, os.Getenv("PATH"))
		if err != nil {
			return "", err
		}
		defer cb.Close()
		for k, v := range cb.Env {
			env[k] = v
		}
		secrets = append(slices.Clone(secrets), cb.Secrets...)
		if len(cb.SecretRefs) > 0 {
			copied := *bs
			copied.Env.Secrets = maps.Clone(bs.Env.Secrets)
			if copied.Env.Secrets == nil {
				copied.Env.Secrets = map[string]string{}
			}
			maps.Copy(copied.Env.Secrets, cb.SecretRefs)
			bs = &copied
		}
		fmt.Fprintf(log, "[canaryflow] local CodeBuild: project variables from %s; ECR_REGISTRY=%s REPOSITORY_URI=%s AWS_REGION=%s\n",
			cb.Source, cb.Env["ECR_REGISTRY"], cb.Env["REPOSITORY_URI"], cb.Env["AWS_REGION"])
	}
	artifacts := filepath.Join(ws, ".canaryflow", "artifacts")
	fmt.Fprintf(log, "[canaryflow] running %s\n", name)
	res, err := build.RunBuildspec(ctx, bs, build.RunOptions{
		Dir: ws, Env: env, PassEnv: o.PassEnv, Secrets: secrets, Log: log,
		Getenv: func(name string) string {
			if !slices.Contains(o.SecretEnv, name) {
				return ""
			}
			return o.Getenv(name)
		},
		ArtifactsDir: artifacts,
	})
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(log, "[canaryflow] %s %s, %d artifact files\n", name, res.Status, len(res.Artifacts))
	return artifacts, nil
}
