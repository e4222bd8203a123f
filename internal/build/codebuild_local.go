package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/registry"
	"github.com/canaryflow/canaryflow/internal/userfile"
)

// What a local build says it runs in when canaryflow.yaml names no AWS
// region or account: plainly not a real account, so nothing it prints
// can be mistaken for one.
const (
	LocalRegion  = "us-east-1"
	LocalAccount = "000000000000"
)

// LocalCodeBuild is what CodeBuild gives a buildspec, made of local parts,
// so the buildspec a team commits for AWS runs here unchanged:
//
//   - the project's environment variables (aws/codebuild-project.json when
//     the repository has one, else what `aws render` writes), with every
//     value that names an ECR registry or repository turned into the
//     embedded registry and the service's repository;
//   - an `aws` command first on PATH that answers `ecr get-login-password`
//     with a short-lived credential for the embedded registry and `sts
//     get-caller-identity` with the account, and refuses the rest;
//   - `docker` through the local engine, its login kept in a Docker
//     configuration of the build's own and allowed to the embedded
//     registry only.
type LocalCodeBuild struct {
	// Registry is the embedded registry's host:port. Required.
	Registry string
	// Repository is the service's image repository. Required.
	Repository string
	// Container is the service's container name (CONTAINER_NAME of the
	// rendered project; the entry read from imagedefinitions.json).
	// Required.
	Container string
	// Region and Account are what the build is told. Zero means
	// LocalRegion and LocalAccount.
	Region, Account string
	// Grant issues the credential `aws ecr get-login-password` prints,
	// valid for ttl or until revoke. Required.
	Grant func(ttl time.Duration) (token string, revoke func())
	// TTL bounds the credential. Zero means one hour.
	TTL time.Duration
	// Resolve returns the digest of repo:ref in the embedded registry.
	// Required to pin the image the buildspec pushed.
	Resolve func(repo, ref string) (digest string, err error)
	// DockerReady reports whether a Docker engine answers. Zero means none
	// does.
	DockerReady func(ctx context.Context) error
	// AWSCLI is the real AWS CLI, which the `aws` command hands every
	// command it does not answer itself (pipeline.build.aws_passthrough).
	// Zero refuses them.
	AWSCLI string
}

// Validate reports a LocalCodeBuild that cannot work.
func (l *LocalCodeBuild) Validate() error {
	switch {
	case l.Registry == "" || l.Repository == "" || l.Container == "":
		return errors.New("local codebuild: Registry, Repository and Container are required")
	case l.Grant == nil || l.Resolve == nil:
		return errors.New("local codebuild: Grant and Resolve are required")
	case !regionPattern.MatchString(l.region()):
		return fmt.Errorf("local codebuild: region %q is not an AWS region", l.region())
	case !accountPattern.MatchString(l.account()):
		return fmt.Errorf("local codebuild: account %q is not 12 digits", l.account())
	case strings.ContainsAny(l.AWSCLI+l.Registry, "'\n"):
		return errors.New("local codebuild: a path or host holds a quote or a newline")
	}
	return nil
}

var (
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	// ecrName is an ECR registry host, perhaps with a repository path:
	// ACCOUNT.dkr.ecr.REGION.amazonaws.com[/repo]. The account may be a
	// placeholder or an unexpanded variable, as in hand-written files.
	ecrName = regexp.MustCompile(`[A-Za-z0-9_${}<>-]+\.dkr\.ecr\.[A-Za-z0-9_${}-]+\.amazonaws\.com(\.cn)?(/[a-z0-9._/-]+)?`)
)

func (l *LocalCodeBuild) region() string {
	if l.Region == "" {
		return LocalRegion
	}
	return l.Region
}

func (l *LocalCodeBuild) account() string {
	if l.Account == "" {
		return LocalAccount
	}
	return l.Account
}

// Local maps a value to this machine: every ECR registry host becomes the
// embedded registry, and an ECR repository path the service's repository.
func (l *LocalCodeBuild) Local(value string) string {
	return ecrName.ReplaceAllStringFunc(value, func(m string) string {
		if strings.Contains(m, "/") {
			return l.Registry + "/" + l.Repository
		}
		return l.Registry
	})
}

// CodeBuildEnv is one build's local CodeBuild environment.
type CodeBuildEnv struct {
	// Env are the variables to give the buildspec's commands.
	Env map[string]string
	// SecretRefs are the project's PARAMETER_STORE and SECRETS_MANAGER
	// variables (name → where CodeBuild would fetch it), resolved as the
	// buildspec's own secrets are.
	SecretRefs map[string]string
	// Secrets are values to redact from the log: the registry credential.
	Secrets []string
	// Source says where the project's variables came from.
	Source string

	dir    string
	revoke func()
}

// Close revokes the credential and removes the build's aws command and
// Docker configuration.
func (e *CodeBuildEnv) Close() {
	if e.revoke != nil {
		e.revoke()
	}
	os.RemoveAll(e.dir)
}

// Prepare makes the environment of one build of the checkout ws. path is
// the PATH the build would have otherwise; the build's own aws (and
// docker) commands go first on it.
func (l *LocalCodeBuild) Prepare(ws, path string) (*CodeBuildEnv, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	vars, source, err := l.projectVariables(ws)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "canaryflow-codebuild-")
	if err != nil {
		return nil, fmt.Errorf("local codebuild: %w", err)
	}
	ttl := l.TTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	token, revoke := l.Grant(ttl)
	e := &CodeBuildEnv{dir: dir, revoke: revoke, Secrets: []string{token}, Source: source, SecretRefs: map[string]string{}}
	if err := l.writeTools(dir, token, path); err != nil {
		e.Close()
		return nil, err
	}
	e.Env = map[string]string{
		"AWS_REGION":         l.region(),
		"AWS_DEFAULT_REGION": l.region(),
		"AWS_ACCOUNT_ID":     l.account(),
		"ECR_REGISTRY":       l.Registry,
		"REPOSITORY_URI":     l.Registry + "/" + l.Repository,
		"IMAGE_REPO_NAME":    l.Repository,
	}
	for _, v := range vars { // CodeBuild: the project's variables win over the buildspec's
		if v.Type != awsfmt.VariablePlaintext {
			e.SecretRefs[v.Name] = v.Type + ":" + v.Value
			continue
		}
		e.Env[v.Name] = l.Local(v.Value)
	}
	// The registry and repository are local whatever the project says: the
	// build's credential is for the embedded registry only.
	e.Env["ECR_REGISTRY"], e.Env["IMAGE_REPO_NAME"] = l.Registry, l.Repository
	if !strings.HasPrefix(e.Env["REPOSITORY_URI"], l.Registry+"/") {
		e.Env["REPOSITORY_URI"] = l.Registry + "/" + l.Repository
	}
	e.Env["DOCKER_CONFIG"] = filepath.Join(dir, "docker")
	e.Env["PATH"] = filepath.Join(dir, "bin") + string(os.PathListSeparator) + path
	return e, nil
}

// projectVariables reads aws/codebuild-project.json from the checkout, or
// gives what `aws render` writes there.
func (l *LocalCodeBuild) projectVariables(ws string) ([]awsfmt.BuildVariable, string, error) {
	file := filepath.Join(ws, filepath.FromSlash(awsfmt.CodeBuildProjectFileName))
	data, err := userfile.Read(file)
	if errors.Is(err, os.ErrNotExist) {
		return awsfmt.BuildProjectVariables(l.Registry+"/"+l.Repository, l.Container), "the variables aws render writes", nil
	}
	if err != nil {
		return nil, "", err
	}
	vars, err := awsfmt.ParseCodeBuildProject(awsfmt.CodeBuildProjectFileName, data)
	if err != nil {
		return nil, "", err
	}
	return vars, awsfmt.CodeBuildProjectFileName, nil
}

// writeTools writes the build's aws command, its docker command (when a
// docker client is installed) and its Docker configuration under dir.
func (l *LocalCodeBuild) writeTools(dir, token, path string) error {
	if strings.ContainsAny(dir, "'\n") {
		return fmt.Errorf("local codebuild: temporary directory %q holds a quote or a newline", dir)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o700); err != nil {
		return fmt.Errorf("local codebuild: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "docker"), 0o700); err != nil {
		return fmt.Errorf("local codebuild: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ecr-password"), []byte(token+"\n"), 0o600); err != nil {
		return fmt.Errorf("local codebuild: %w", err)
	}
	aws := fmt.Sprintf(awsCommand, dir, l.account(), l.AWSCLI)
	if err := os.WriteFile(filepath.Join(bin, "aws"), []byte(aws), 0o700); err != nil {
		return fmt.Errorf("local codebuild: %w", err)
	}
	if real := lookPathIn("docker", path); real != "" && !strings.ContainsAny(real, "'\n") {
		docker := fmt.Sprintf(dockerCommand, l.Registry, real)
		if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(docker), 0o700); err != nil {
			return fmt.Errorf("local codebuild: %w", err)
		}
	}
	return nil
}

// lookPathIn finds an executable on path (a PATH value), or "".
func lookPathIn(name, path string) string {
	for _, d := range filepath.SplitList(path) {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// awsCommand is the build's `aws`: %[1]s is its directory, %[2]s the
// account, %[3]s the real AWS CLI or empty. The buildspec's arguments are
// only compared, never evaluated.
const awsCommand = `#!/bin/sh
# canaryflow's local build: the few AWS CLI commands a buildspec needs.
dir='%[1]s' account='%[2]s' real='%[3]s'
service= op= query= skip=
for a in "$@"; do
	if [ -n "$skip" ]; then
		[ "$skip" = query ] && query=$a
		skip=; continue
	fi
	case "$a" in
	--query) skip=query ;;
	--region|--profile|--output|--endpoint-url|--color|--ca-bundle|--cli-read-timeout|--cli-connect-timeout|--cli-binary-format|--registry-ids) skip=1 ;;
	-*) ;;
	*) if [ -z "$service" ]; then service=$a; elif [ -z "$op" ]; then op=$a; fi ;;
	esac
done
case "$service $op" in
"ecr get-login-password")
	exec cat "$dir/ecr-password" ;;
"sts get-caller-identity")
	case "$query" in
	Account) echo "$account" ;;
	Arn) echo "arn:aws:iam::$account:user/canaryflow-local" ;;
	UserId) echo canaryflow-local ;;
	*) printf '{"UserId": "canaryflow-local", "Account": "%%s", "Arn": "arn:aws:iam::%%s:user/canaryflow-local"}\n' "$account" "$account" ;;
	esac
	exit 0 ;;
esac
if [ -n "$real" ]; then
	exec "$real" "$@"
fi
echo "aws $service $op: does not run locally: canaryflow's local build answers only 'aws ecr get-login-password' and 'aws sts get-caller-identity' (set pipeline.build.aws_passthrough: true to hand the rest to the AWS CLI)" >&2
exit 255
`

// dockerCommand is the build's `docker`: %[1]s is the embedded registry,
// %[2]s the real docker client. It refuses a login to any other registry,
// so the build's credential goes nowhere else.
const dockerCommand = `#!/bin/sh
# canaryflow's local build: docker, logging in to the embedded registry only.
registry='%[1]s'
sub= server= skip=
for a in "$@"; do
	if [ -n "$skip" ]; then skip=; continue; fi
	case "$a" in
	--config|-c|--context|-H|--host|-l|--log-level|--tlscacert|--tlscert|--tlskey|-u|--username|-p|--password) skip=1 ;;
	-*) ;;
	*) if [ -z "$sub" ]; then sub=$a; elif [ "$sub" = login ]; then server=$a; fi ;;
	esac
done
if [ "$sub" = login ] && [ "$server" != "$registry" ]; then
	echo "docker login \"$server\": refused: a local build logs in to canaryflow's registry $registry only (\$ECR_REGISTRY and \$REPOSITORY_URI point there)" >&2
	exit 1
fi
exec '%[2]s' "$@"
`

// usesDocker matches a command that runs docker.
var usesDocker = regexp.MustCompile("(^|[\\s;&|(`$])docker(\\s|$)")

// DockerCommand returns the first command of bs that runs docker, or "".
func DockerCommand(bs *Buildspec) string {
	for _, p := range bs.Phases {
		for _, c := range append(append([]string(nil), p.Commands...), p.Finally...) {
			if usesDocker.MatchString(c) {
				return c
			}
		}
	}
	return ""
}

// ErrNoDockerForBuildspec is returned when a buildspec runs docker and no
// engine answers.
var ErrNoDockerForBuildspec = errors.New("the buildspec runs docker, but no Docker engine answers")

// CheckDocker fails, before any phase runs, a buildspec that runs docker
// where no Docker engine answers.
func (l *LocalCodeBuild) CheckDocker(ctx context.Context, file string, bs *Buildspec) error {
	cmd := DockerCommand(bs)
	if cmd == "" {
		return nil
	}
	var why error = errors.New("no engine configured")
	if l.DockerReady != nil {
		why = l.DockerReady(ctx)
	}
	if why == nil {
		return nil
	}
	return fmt.Errorf("%s: %w (%v; first: %q). The process runtime runs tasks without Docker, but a buildspec's docker build and push need an engine: start Docker (or point DOCKER_HOST at one), or take the docker commands out of the buildspec and let canaryflow build the image itself (pipeline.build.image: go)",
		file, ErrNoDockerForBuildspec, why, cmd)
}

// DeployedImage reads the image the build produced from its artifacts:
// imageDetail.json's ImageURI, else the entry of imagedefinitions.json
// for the service's container. It returns "" when the build wrote
// neither.
func (l *LocalCodeBuild) DeployedImage(artifacts string) (image, file string, err error) {
	for _, name := range []string{awsfmt.ImageDetailFileName, awsfmt.ImageDefinitionsFileName} {
		data, err := userfile.Read(filepath.Join(artifacts, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", name, err
		}
		if name == awsfmt.ImageDetailFileName {
			image, err = awsfmt.ParseImageDetail(name, data)
		} else {
			image, err = awsfmt.ParseImageDefinitions(name, data, l.Container)
		}
		return image, name, err
	}
	return "", "", nil
}

// ErrForeignImage is returned for an image definition naming a registry
// canaryflow does not serve.
var ErrForeignImage = errors.New("the image is not in canaryflow's registry")

// Pin checks that image (as the build's image file names it) is in the
// embedded registry and returns it pinned by digest.
func (l *LocalCodeBuild) Pin(file, image string) (string, error) {
	ref, err := registry.ParseRef(image)
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	if ref.Host != l.Registry {
		return "", fmt.Errorf("%s names %s: %w: locally the build pushes to %s (what $REPOSITORY_URI and $ECR_REGISTRY say); write the image file from $REPOSITORY_URI, not a fixed registry",
			file, image, ErrForeignImage, l.Registry+"/"+l.Repository)
	}
	ref.Digest, err = l.Resolve(ref.Repository, ref.Reference())
	if err != nil {
		return "", fmt.Errorf("%s names %s, which is not in canaryflow's registry (did the buildspec push it?): %w", file, image, err)
	}
	return ref.String(), nil
}
