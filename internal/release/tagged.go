package release

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/git"
)

// Commit is the tagged commit of a release, in a git repository that
// holds it (the pipeline's mirror of the source).
type Commit struct {
	Dir    string // the repository
	Tag    string // vX.Y.Z, for messages and the settings source
	Commit string // full object name
}

// maxFileSize bounds a file read from a release, as userfile bounds the
// files canaryflow reads from disk.
const maxFileSize = 1 << 20

var objectName = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// releaseFiles are a release's own deployment settings.
type releaseFiles struct {
	service Service
	spec    *awsfmt.AppSpec // nil when the release has no appspec.yaml
	source  *deploy.SettingsSource
	at      string // "release v1.2.0 (abc1234)", for errors
}

// readRelease reads canaryflow.yaml (required) and appspec.yaml
// (optional) at the release's commit. A missing or invalid file is an
// *InvalidError naming the tag, with the file:line of the problem.
func (r *Releaser) readRelease(ctx context.Context, c Commit) (*releaseFiles, error) {
	if !objectName.MatchString(c.Commit) {
		return nil, invalid(fmt.Errorf("release %s: commit %q is not an object name", c.Tag, c.Commit))
	}
	at := fmt.Sprintf("release %s (%s)", c.Tag, c.Commit[:7])
	if r.opts.ParseService == nil {
		return nil, fmt.Errorf("%s: %w", at, errNoParser)
	}
	repo := &git.Repo{Dir: c.Dir}
	if _, err := repo.Output(ctx, "cat-file", "-e", c.Commit+"^{commit}"); err != nil {
		return nil, fmt.Errorf("%s: the commit is not in %s: %w", at, c.Dir, err)
	}
	data, ok, err := showFile(ctx, repo, c.Commit, configFile)
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", at, configFile, err)
	}
	if !ok {
		return nil, invalid(fmt.Errorf("%s: the tagged commit has no %s: its deployment settings come from there (commit one, then tag a new release)", at, configFile))
	}
	svc, err := r.opts.ParseService(configFile, data)
	if err != nil {
		return nil, invalid(fmt.Errorf("%s: %w", at, err))
	}
	out := &releaseFiles{service: svc, at: at, source: &deploy.SettingsSource{Files: []string{configFile}, Tag: c.Tag, Commit: c.Commit}}
	data, ok, err = showFile(ctx, repo, c.Commit, awsfmt.AppSpecFileName)
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", at, awsfmt.AppSpecFileName, err)
	}
	if ok {
		if out.spec, err = awsfmt.ParseAppSpec(awsfmt.AppSpecFileName, data); err != nil {
			return nil, invalid(fmt.Errorf("%s: %w", at, err))
		}
		out.source.Files = append(out.source.Files, awsfmt.AppSpecFileName)
	}
	return out, nil
}

// showFile reads path at commit, refusing a file over maxFileSize before
// reading it; ok is false when the commit has no such file.
func showFile(ctx context.Context, repo *git.Repo, commit, path string) (data []byte, ok bool, err error) {
	size, err := repo.Output(ctx, "cat-file", "-s", commit+":"+path)
	if err != nil {
		var ge *git.Error
		if errors.As(err, &ge) && ge.ExitCode == 128 {
			return nil, false, nil // no such path at that commit
		}
		return nil, false, err
	}
	if n, err := strconv.ParseInt(size, 10, 64); err != nil || n > maxFileSize {
		return nil, false, fmt.Errorf("%s is %s bytes: over the limit of %d", path, size, maxFileSize)
	}
	return repo.ShowFile(ctx, commit, path)
}
