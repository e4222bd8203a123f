package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/canaryflow/canaryflow/internal/git"
)

// lsRemoteTags lists the tags of a remote with the commit each points to
// (annotated tags peeled). Lines that do not parse are skipped: the remote
// is not trusted.
func lsRemoteTags(ctx context.Context, g *git.Repo, url string) (map[string]string, error) {
	lines, err := g.Lines(ctx, "ls-remote", "--tags", "--", url)
	if err != nil {
		return nil, fmt.Errorf("ls-remote %s: %w", url, err)
	}
	tags := map[string]string{}
	peeled := map[string]string{}
	for _, l := range lines {
		sha, ref, ok := strings.Cut(l, "\t")
		if !ok || !validSHA(sha) {
			continue
		}
		name, ok := strings.CutPrefix(ref, "refs/tags/")
		if !ok {
			continue
		}
		if base, ok := strings.CutSuffix(name, "^{}"); ok {
			peeled[base] = sha
			continue
		}
		tags[name] = sha
	}
	for name, sha := range peeled {
		if _, ok := tags[name]; ok {
			tags[name] = sha
		}
	}
	return tags, nil
}
