package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// InUseError reports an image that a running task uses and that therefore
// was not deleted.
type InUseError struct {
	Repository string
	Digest     string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("image %s@%s is used by a running task", e.Repository, e.Digest)
}

// Untag removes tag from repo; the image stays, reachable by digest.
func (r *Registry) Untag(repo, tag string) error {
	if err := ValidateRepository(repo); err != nil {
		return err
	}
	if err := ValidateTag(tag); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.manifests.get(repo, tag); err != nil {
		return err
	}
	if err := removeFile(r.manifests.tagPath(repo, tag)); err != nil {
		return fmt.Errorf("untag %s:%s: %w", repo, tag, err)
	}
	return nil
}

// Delete removes the image ref (tag or digest) names from repo, with all its
// tags, and the blobs no other image uses. It refuses, with *InUseError, an
// image a running task uses.
func (r *Registry) Delete(ctx context.Context, repo, ref string) (Image, error) {
	img, err := r.Resolve(repo, ref)
	if err != nil {
		return Image{}, err
	}
	inUse, err := r.inUse(ctx)
	if err != nil {
		return Image{}, err
	}
	if inUse[img.Digest] {
		return Image{}, &InUseError{Repository: repo, Digest: img.Digest}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.remove(ctx, repo, img.Digest); err != nil {
		return Image{}, err
	}
	return img, nil
}

// Prune applies the lifecycle rule to repo: it keeps the newest KeepLast
// images, and older ones that a running task uses, and deletes the rest. It
// returns what it deleted. With KeepLast zero it deletes nothing.
func (r *Registry) Prune(ctx context.Context, repo string) ([]Image, error) {
	if r.opts.KeepLast <= 0 {
		return nil, nil
	}
	inUse, err := r.inUse(ctx)
	if err != nil {
		return nil, fmt.Errorf("lifecycle %s: %w", repo, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ms, err := r.manifests.list(repo)
	if err != nil {
		return nil, err
	}
	tags, err := r.manifests.tags(repo)
	if err != nil {
		return nil, err
	}
	// Manifests that an index names are kept and counted with their index.
	children := map[string]bool{}
	for _, m := range ms {
		if len(references(m)) > 0 && isIndex(m) {
			for _, d := range references(m) {
				children[d] = true
			}
		}
	}
	var deleted []Image
	kept := 0
	for i := len(ms) - 1; i >= 0; i-- {
		m := ms[i]
		if children[m.Digest] {
			continue
		}
		if kept < r.opts.KeepLast {
			kept++
			continue
		}
		if inUse[m.Digest] {
			r.log.Info("lifecycle keeps image in use", "repository", repo, "digest", m.Digest)
			continue
		}
		img := toImage(repo, m, tags)
		if err := r.remove(ctx, repo, m.Digest); err != nil {
			return deleted, err
		}
		r.log.Info("lifecycle deleted image", "repository", repo, "digest", m.Digest)
		deleted = append(deleted, img)
	}
	return deleted, nil
}

// remove deletes one manifest, its tags and then the blobs that no stored
// manifest references any more. Callers hold r.mu.
func (r *Registry) remove(ctx context.Context, repo, digest string) error {
	m, err := r.manifests.get(repo, digest)
	if err != nil {
		return err
	}
	if _, err := r.manifests.remove(repo, digest); err != nil {
		return err
	}
	return r.collect(ctx, references(m))
}

// collect deletes the candidate blobs that no stored manifest references.
func (r *Registry) collect(ctx context.Context, candidates []string) error {
	if len(candidates) == 0 {
		return nil
	}
	live := map[string]bool{}
	repos, err := r.manifests.repositories()
	if err != nil {
		return err
	}
	for _, repo := range repos {
		ms, err := r.manifests.list(repo)
		if err != nil {
			return err
		}
		for _, m := range ms {
			for _, d := range references(m) {
				live[d] = true
			}
		}
	}
	for _, d := range candidates {
		if live[d] {
			continue
		}
		h, err := v1.NewHash(d)
		if err != nil {
			continue
		}
		if err := r.blobs.Delete(ctx, "", h); err != nil && !isNotFound(err) {
			return fmt.Errorf("collect blob %s: %w", d, err)
		}
	}
	return nil
}

func (r *Registry) inUse(ctx context.Context) (map[string]bool, error) {
	if r.opts.InUse == nil {
		return map[string]bool{}, nil
	}
	m, err := r.opts.InUse(ctx)
	if err != nil {
		return nil, fmt.Errorf("images in use: %w", err)
	}
	return m, nil
}

func isIndex(m storedManifest) bool {
	return m.MediaType == "application/vnd.oci.image.index.v1+json" ||
		m.MediaType == "application/vnd.docker.distribution.manifest.list.v2+json"
}

func isNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ggcr.ErrNotFound)
}

// removeFile removes p; a file already gone is not an error.
func removeFile(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
