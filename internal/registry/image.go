package registry

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image is one stored manifest of a repository, as `image ls` shows it.
type Image struct {
	Repository string
	Digest     string
	Tags       []string
	MediaType  string
	// Size is the manifest plus its config and layers as stored
	// (compressed), zero for an index.
	Size     int64
	PushedAt time.Time
}

// Repositories returns the names of repositories that hold images, sorted.
func (r *Registry) Repositories() ([]string, error) { return r.manifests.repositories() }

// Images returns the images of repo, newest push first. An empty repo lists
// every repository.
func (r *Registry) Images(repo string) ([]Image, error) {
	repos := []string{repo}
	if repo == "" {
		var err error
		if repos, err = r.manifests.repositories(); err != nil {
			return nil, err
		}
	} else if err := ValidateRepository(repo); err != nil {
		return nil, err
	}
	var out []Image
	for _, name := range repos {
		ms, err := r.manifests.list(name)
		if err != nil {
			return nil, err
		}
		tags, err := r.manifests.tags(name)
		if err != nil {
			return nil, err
		}
		for i := len(ms) - 1; i >= 0; i-- {
			out = append(out, toImage(name, ms[i], tags))
		}
	}
	return out, nil
}

// ResolveDigest returns the digest of the image that ref names in repo,
// for those who need no more of it (a LocalCodeBuild's Resolve).
func (r *Registry) ResolveDigest(repo, ref string) (string, error) {
	im, err := r.Resolve(repo, ref)
	return im.Digest, err
}

// Resolve returns the image that ref names in repo: a tag or a digest.
func (r *Registry) Resolve(repo, ref string) (Image, error) {
	if err := ValidateRepository(repo); err != nil {
		return Image{}, err
	}
	if !isDigest(ref) {
		if err := ValidateTag(ref); err != nil {
			return Image{}, err
		}
	}
	m, err := r.manifests.get(repo, ref)
	if err != nil {
		return Image{}, err
	}
	tags, err := r.manifests.tags(repo)
	if err != nil {
		return Image{}, err
	}
	return toImage(repo, m, tags), nil
}

func toImage(repo string, m storedManifest, tags map[string]string) Image {
	img := Image{Repository: repo, Digest: m.Digest, MediaType: m.MediaType, PushedAt: m.PushedAt, Size: int64(len(m.Content))}
	for t, d := range tags {
		if d == m.Digest {
			img.Tags = append(img.Tags, t)
		}
	}
	sort.Strings(img.Tags)
	if types.MediaType(m.MediaType).IsImage() {
		if mf, err := v1.ParseManifest(bytes.NewReader(m.Content)); err == nil {
			img.Size += mf.Config.Size
			for _, l := range mf.Layers {
				img.Size += l.Size
			}
		}
	}
	return img
}

// Ref is a parsed image reference: [host/]repository[:tag][@digest].
type Ref struct {
	// Host is the registry host:port, empty when the reference had none.
	Host       string
	Repository string
	Tag        string
	Digest     string
}

// String formats the reference back, digest last.
func (r Ref) String() string {
	var b strings.Builder
	if r.Host != "" {
		b.WriteString(r.Host + "/")
	}
	b.WriteString(r.Repository)
	if r.Tag != "" {
		b.WriteString(":" + r.Tag)
	}
	if r.Digest != "" {
		b.WriteString("@" + r.Digest)
	}
	return b.String()
}

// Reference returns the tag or digest to fetch: the digest when both are set.
func (r Ref) Reference() string {
	if r.Digest != "" {
		return r.Digest
	}
	if r.Tag != "" {
		return r.Tag
	}
	return "latest"
}

// hostPattern is a registry host: a DNS name or IPv4 address, optional port.
var hostPattern = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]{1,5})?$`)

// ParseRef parses an image reference. The first component is a host when it
// holds a ":" or ".", or is "localhost", as Docker decides it.
func ParseRef(s string) (Ref, error) {
	var ref Ref
	rest := s
	if before, after, ok := strings.Cut(rest, "@"); ok {
		if !isDigest(after) {
			return Ref{}, &NameError{Name: s, Reason: "digest must be sha256:<64 hex>"}
		}
		ref.Digest, rest = after, before
	}
	if first, after, ok := strings.Cut(rest, "/"); ok && (strings.ContainsAny(first, ":.") || first == "localhost") {
		if !hostPattern.MatchString(first) {
			return Ref{}, &NameError{Name: s, Reason: fmt.Sprintf("registry host %q is not host[:port]", first)}
		}
		ref.Host, rest = first, after
	}
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		ref.Tag, rest = rest[i+1:], rest[:i]
		if err := ValidateTag(ref.Tag); err != nil {
			return Ref{}, fmt.Errorf("parse image %q: %w", s, err)
		}
	}
	if err := ValidateRepository(rest); err != nil {
		return Ref{}, fmt.Errorf("parse image %q: %w", s, err)
	}
	ref.Repository = rest
	return ref, nil
}

// hostLabel is one dot-separated label of a registry host name.
var hostLabel = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$`)

// ValidateHost reports whether host is a registry host[:port] that an image
// reference can name: DNS labels or an IPv4 address, an optional port
// 1-65535, and a "." or a port (or "localhost"), since without one the
// first component of a reference is read as part of the repository.
func ValidateHost(host string) error {
	if strings.ContainsAny(host, "/@*? \t") {
		return &NameError{Name: host, Reason: "write host[:port] only: no scheme, path, user, wildcard or space"}
	}
	h, port, hasPort := strings.Cut(host, ":")
	if hasPort {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
			return &NameError{Name: host, Reason: "port must be 1-65535"}
		}
	}
	if len(h) == 0 || len(h) > 253 {
		return &NameError{Name: host, Reason: "not a registry host[:port]"}
	}
	for _, l := range strings.Split(h, ".") {
		if len(l) > 63 || !hostLabel.MatchString(l) {
			return &NameError{Name: host, Reason: "not a registry host[:port]: write a host name or IPv4 address, no scheme, path or wildcard"}
		}
	}
	if !hasPort && !strings.Contains(h, ".") && h != "localhost" {
		return &NameError{Name: host, Reason: "an image reference reads a host only with a '.' or a port: write e.g. " + h + ".example or " + h + ":5000"}
	}
	return nil
}
