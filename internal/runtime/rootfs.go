package runtime

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canaryflow/canaryflow/internal/registry"
)

// unpackedImage is an image's filesystem on disk and its run config.
type unpackedImage struct {
	Digest string
	Root   string
	Config v1.Config
}

// imageCache keeps unpacked images under dir/<digest hex>/{rootfs,config.json},
// written to a temporary directory and renamed, so a cached entry is
// always complete.
type imageCache struct {
	dir  string
	cred registry.Credential
}

// get returns the unpacked image ref names, pulling and unpacking it unless
// a digest reference is already cached (then no registry is contacted).
func (c *imageCache) get(ctx context.Context, ref string) (unpackedImage, error) {
	parsed, err := registry.ParseRef(ref)
	if err != nil {
		return unpackedImage{}, fmt.Errorf("%w: %v", ErrBadImage, err)
	}
	if parsed.Digest != "" {
		if u, err := c.load(parsed.Digest); err == nil {
			return u, nil
		}
	}
	pullRef := parsed
	if pullRef.Digest != "" {
		pullRef.Tag = ""
	}
	nref, err := name.ParseReference(pullRef.String(), registry.NameOptions(pullRef.Host)...)
	if err != nil {
		return unpackedImage{}, fmt.Errorf("%w: %v", ErrBadImage, err)
	}
	img, err := remote.Image(nref, append(c.cred.RemoteOptions(), remote.WithContext(ctx))...)
	if err != nil {
		return unpackedImage{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return unpackedImage{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	if u, err := c.load(d.String()); err == nil {
		return u, nil
	}
	return c.unpack(d.String(), img)
}

func (c *imageCache) entry(digest string) string {
	return filepath.Join(c.dir, strings.TrimPrefix(digest, "sha256:"))
}

// load returns a cached image.
func (c *imageCache) load(digest string) (unpackedImage, error) {
	dir := c.entry(digest)
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return unpackedImage{}, err
	}
	var cfg v1.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return unpackedImage{}, fmt.Errorf("read cached image %s: %w", digest, err)
	}
	return unpackedImage{Digest: digest, Root: filepath.Join(dir, "rootfs"), Config: cfg}, nil
}

// unpack extracts every layer of img, in order, and caches the result.
func (c *imageCache) unpack(digest string, img v1.Image) (unpackedImage, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return unpackedImage{}, fmt.Errorf("unpack %s: %w", digest, err)
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return unpackedImage{}, fmt.Errorf("unpack %s: %w", digest, err)
	}
	tmp, err := os.MkdirTemp(c.dir, ".unpack-*")
	if err != nil {
		return unpackedImage{}, fmt.Errorf("unpack %s: %w", digest, err)
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "rootfs")
	if err := os.Mkdir(root, 0o755); err != nil {
		return unpackedImage{}, fmt.Errorf("unpack %s: %w", digest, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return unpackedImage{}, fmt.Errorf("unpack %s: %w", digest, err)
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return unpackedImage{}, fmt.Errorf("unpack %s layer %d: %w", digest, i, err)
		}
		err = extractLayer(root, rc)
		rc.Close()
		if err != nil {
			return unpackedImage{}, fmt.Errorf("unpack %s layer %d: %w", digest, i, err)
		}
	}
	cfgJSON, err := json.Marshal(cf.Config)
	if err != nil {
		return unpackedImage{}, fmt.Errorf("unpack %s: %w", digest, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "config.json"), cfgJSON, 0o644); err != nil {
		return unpackedImage{}, fmt.Errorf("unpack %s: %w", digest, err)
	}
	if err := os.Rename(tmp, c.entry(digest)); err != nil && !errors.Is(err, fs.ErrExist) && !isDirNotEmpty(err) {
		return unpackedImage{}, fmt.Errorf("unpack %s: %w", digest, err)
	}
	return c.load(digest)
}

func isDirNotEmpty(err error) bool {
	var le *os.LinkError
	return errors.As(err, &le) && strings.Contains(le.Err.Error(), "not empty")
}

// extractLayer applies one layer tar to root. Entry names are confined to
// root: absolute paths and ".." are refused, and no entry is written
// through a symbolic link. OCI whiteouts delete what lower layers added.
func extractLayer(root string, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rel := filepath.Clean(filepath.FromSlash(strings.TrimPrefix(hdr.Name, "./")))
		if rel == "." {
			continue
		}
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("layer entry %q leaves the image root", hdr.Name)
		}
		dir, base := filepath.Split(rel)
		if err := checkNoSymlink(root, dir); err != nil {
			return err
		}
		target := filepath.Join(root, rel)
		if base == ".wh..wh..opq" {
			entries, _ := os.ReadDir(filepath.Join(root, dir))
			for _, e := range entries {
				os.RemoveAll(filepath.Join(root, dir, e.Name()))
			}
			continue
		}
		if name, ok := strings.CutPrefix(base, ".wh."); ok {
			os.RemoveAll(filepath.Join(root, dir, name))
			continue
		}
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			return err
		}
		mode := fs.FileMode(hdr.Mode) & fs.ModePerm
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, mode|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			os.RemoveAll(target)
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode|0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			os.RemoveAll(target)
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		case tar.TypeLink:
			lrel := filepath.Clean(filepath.FromSlash(strings.TrimPrefix(hdr.Linkname, "/")))
			if !filepath.IsLocal(lrel) {
				return fmt.Errorf("layer hard link %q leaves the image root", hdr.Linkname)
			}
			if err := checkNoSymlink(root, lrel); err != nil {
				return err
			}
			os.RemoveAll(target)
			if err := os.Link(filepath.Join(root, lrel), target); err != nil {
				return err
			}
		default:
			// Devices, fifos and the like are not needed to run a service.
		}
	}
}

// checkNoSymlink refuses a relative path whose existing components under
// root include a symbolic link, so writes cannot be redirected outside.
func checkNoSymlink(root, rel string) error {
	cur := root
	for _, part := range strings.Split(filepath.Clean(rel), string(filepath.Separator)) {
		if part == "" || part == "." {
			continue
		}
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("layer entry under %q goes through a symbolic link", rel)
		}
	}
	return nil
}
