package protect

import (
	"net/url"
	"regexp"
	"strings"
)

// githubName is what GitHub accepts as an owner or repository name.
var githubName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// GitHubRepo returns the owner and name of a github.com remote URL in any
// of the forms git accepts: https://github.com/o/r(.git),
// git@github.com:o/r(.git), ssh://git@github.com/o/r(.git).
func GitHubRepo(remoteURL string) (owner, name string, ok bool) {
	var path string
	switch {
	case strings.HasPrefix(remoteURL, "git@github.com:"):
		path = strings.TrimPrefix(remoteURL, "git@github.com:")
	case strings.Contains(remoteURL, "://"):
		u, err := url.Parse(remoteURL)
		if err != nil || !strings.EqualFold(u.Hostname(), "github.com") {
			return "", "", false
		}
		switch u.Scheme {
		case "https", "http", "ssh", "git":
		default:
			return "", "", false
		}
		path = strings.TrimPrefix(u.Path, "/")
	default:
		return "", "", false
	}
	path = strings.TrimSuffix(strings.TrimSuffix(path, "/"), ".git")
	owner, name, found := strings.Cut(path, "/")
	if !found || !githubName.MatchString(owner) || !githubName.MatchString(name) || name == "." || name == ".." {
		return "", "", false
	}
	return owner, name, true
}
