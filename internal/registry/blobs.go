package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// blobStore keeps blobs content-addressed on disk: one file per digest,
// shared by all repositories. It implements go-containerregistry's blob
// handler interfaces. A blob is written to a temporary file and renamed into
// place only after its digest verified, so a file under sha256/ is always
// what its name says.
type blobStore struct {
	dir string
}

var (
	_ ggcr.BlobStatHandler   = (*blobStore)(nil)
	_ ggcr.BlobPutHandler    = (*blobStore)(nil)
	_ ggcr.BlobDeleteHandler = (*blobStore)(nil)
)

func (b *blobStore) path(h v1.Hash) string { return filepath.Join(b.dir, h.Algorithm, h.Hex) }

// Stat returns the size of a stored blob, or ggcr.ErrNotFound.
func (b *blobStore) Stat(_ context.Context, _ string, h v1.Hash) (int64, error) {
	fi, err := os.Stat(b.path(h))
	if errors.Is(err, os.ErrNotExist) {
		return 0, ggcr.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", h, err)
	}
	return fi.Size(), nil
}

// Get opens a stored blob, or returns ggcr.ErrNotFound.
func (b *blobStore) Get(_ context.Context, _ string, h v1.Hash) (io.ReadCloser, error) {
	f, err := os.Open(b.path(h))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ggcr.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", h, err)
	}
	return f, nil
}

// Put stores rc under h. rc is the verifying reader go-containerregistry
// wraps around the upload: a digest mismatch surfaces as its read error, and
// then nothing is kept.
func (b *blobStore) Put(_ context.Context, _ string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	if err := os.MkdirAll(filepath.Join(b.dir, h.Algorithm), 0o755); err != nil {
		return fmt.Errorf("put blob %s: %w", h, err)
	}
	f, err := os.CreateTemp(filepath.Join(b.dir, h.Algorithm), ".upload-*")
	if err != nil {
		return fmt.Errorf("put blob %s: %w", h, err)
	}
	_, err = io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), b.path(h))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("put blob %s: %w", h, err)
	}
	return nil
}

// adopt moves the verified file at src into place as blob h. src must be
// on the same filesystem (the registry's directory).
func (b *blobStore) adopt(h v1.Hash, src string) error {
	if err := os.MkdirAll(filepath.Join(b.dir, h.Algorithm), 0o755); err != nil {
		return fmt.Errorf("store blob %s: %w", h, err)
	}
	if err := os.Chmod(src, 0o644); err != nil {
		return fmt.Errorf("store blob %s: %w", h, err)
	}
	if err := os.Rename(src, b.path(h)); err != nil {
		return fmt.Errorf("store blob %s: %w", h, err)
	}
	return nil
}

// Delete removes a stored blob.
func (b *blobStore) Delete(_ context.Context, _ string, h v1.Hash) error {
	if err := os.Remove(b.path(h)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return ggcr.ErrNotFound
		}
		return fmt.Errorf("delete blob %s: %w", h, err)
	}
	return nil
}

// has reports whether the blob with digest d is stored.
func (b *blobStore) has(h v1.Hash) bool {
	_, err := os.Stat(b.path(h))
	return err == nil
}
