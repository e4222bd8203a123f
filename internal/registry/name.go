package registry

import (
	"fmt"
	"regexp"
	"strings"
)

// maxNameLength bounds repository names, as the distribution spec advises.
const maxNameLength = 255

var (
	// nameComponent is one path component of a repository name as the OCI
	// distribution spec defines it: lowercase alphanumerics joined by single
	// separators. It can never be "..", "." or empty.
	nameComponent = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$`)
	// tagPattern is the OCI tag grammar.
	tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	// digestPattern is the only digest form canaryflow stores.
	digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// ValidateRepository reports whether name is a safe repository name: OCI
// grammar, no empty, "." or ".." components, not absolute, at most 255 bytes.
// The name becomes a directory path under the store, so this is the guard
// against path traversal.
func ValidateRepository(name string) error {
	if name == "" {
		return &NameError{Name: name, Reason: "empty repository name"}
	}
	if len(name) > maxNameLength {
		return &NameError{Name: name, Reason: fmt.Sprintf("longer than %d bytes", maxNameLength)}
	}
	for _, c := range strings.Split(name, "/") {
		if !nameComponent.MatchString(c) {
			return &NameError{Name: name, Reason: fmt.Sprintf("component %q is not [a-z0-9] words joined by . _ __ or -", c)}
		}
	}
	return nil
}

// ValidateTag reports whether tag follows the OCI tag grammar.
func ValidateTag(tag string) error {
	if !tagPattern.MatchString(tag) {
		return &NameError{Name: tag, Reason: "tag must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}"}
	}
	return nil
}

// isDigest reports whether ref is a sha256 digest.
func isDigest(ref string) bool { return digestPattern.MatchString(ref) }

// NameError reports an invalid repository name, tag or reference.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string { return fmt.Sprintf("invalid name %q: %s", e.Name, e.Reason) }

// route is a parsed /v2/ request path.
type route struct {
	// kind is "base" (/v2/), "catalog", "manifests", "blobs", "tags" or "referrers".
	kind string
	// repo is the repository name, empty for base and catalog.
	repo string
	// rest is what follows the kind: a reference, a digest, "uploads/ID", "list".
	rest string
}

// parseRoute splits a distribution API path into its parts and validates the
// repository name. It returns a *NameError for names that are not allowed.
func parseRoute(p string) (route, error) {
	if p == "/v2" || p == "/v2/" {
		return route{kind: "base"}, nil
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return route{}, &NameError{Name: p, Reason: "not a /v2/ path"}
	}
	if rest == "_catalog" {
		return route{kind: "catalog"}, nil
	}
	elems := strings.Split(rest, "/")
	// Find the last kind marker: repository components cannot be "blobs"
	// followed by "uploads" ambiguity, so search from the end.
	for i := len(elems) - 2; i >= 1; i-- {
		switch elems[i] {
		case "manifests", "blobs", "tags", "referrers":
		default:
			continue
		}
		r := route{kind: elems[i], repo: strings.Join(elems[:i], "/"), rest: strings.Join(elems[i+1:], "/")}
		if !validRest(r) {
			continue
		}
		if err := ValidateRepository(r.repo); err != nil {
			return route{}, err
		}
		return r, nil
	}
	return route{}, &NameError{Name: p, Reason: "no repository in path"}
}

// validRest reports whether the part after the kind marker has the shape the
// kind expects, so a repository component named "blobs" is not mistaken for
// the marker.
func validRest(r route) bool {
	parts := strings.Split(r.rest, "/")
	switch r.kind {
	case "manifests", "referrers":
		return len(parts) == 1 && parts[0] != ""
	case "tags":
		return r.rest == "list"
	case "blobs":
		if parts[0] == "uploads" {
			return len(parts) <= 2
		}
		return len(parts) == 1 && parts[0] != ""
	}
	return false
}
