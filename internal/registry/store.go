package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrNotFound is returned when a repository, tag or manifest is not stored.
var ErrNotFound = errors.New("not found")

// manifestStore keeps manifests and tags on disk, one file each:
//
//	repositories/<repo>/_manifests/<hex>.json   manifest bytes + media type + push time
//	repositories/<repo>/_tags/<tag>             the digest the tag points to
//
// Repository components never start with "_", so the markers cannot clash
// with a nested repository. Every write is a rename of a complete file.
type manifestStore struct {
	dir string
}

// storedManifest is the on-disk record of one manifest.
type storedManifest struct {
	Digest    string    `json:"digest"`
	MediaType string    `json:"mediaType"`
	PushedAt  time.Time `json:"pushedAt"`
	Content   []byte    `json:"content"`
}

func (s *manifestStore) repoDir(repo string) string {
	return filepath.Join(s.dir, filepath.FromSlash(repo))
}

func (s *manifestStore) manifestPath(repo, digest string) string {
	return filepath.Join(s.repoDir(repo), "_manifests", strings.TrimPrefix(digest, "sha256:")+".json")
}

func (s *manifestStore) tagPath(repo, tag string) string {
	return filepath.Join(s.repoDir(repo), "_tags", tag)
}

// put stores m under repo unless that digest is already stored, in which
// case the first push time is kept.
func (s *manifestStore) put(repo string, m storedManifest) error {
	p := s.manifestPath(repo, m.Digest)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store manifest %s@%s: %w", repo, m.Digest, err)
	}
	if err := writeFileAtomic(p, data); err != nil {
		return fmt.Errorf("store manifest %s@%s: %w", repo, m.Digest, err)
	}
	return nil
}

// tag points tag at digest in repo.
func (s *manifestStore) tag(repo, tag, digest string) error {
	if err := writeFileAtomic(s.tagPath(repo, tag), []byte(digest)); err != nil {
		return fmt.Errorf("tag %s:%s: %w", repo, tag, err)
	}
	return nil
}

// get returns the manifest that ref (a tag or a digest) names in repo.
func (s *manifestStore) get(repo, ref string) (storedManifest, error) {
	digest := ref
	if !isDigest(ref) {
		b, err := os.ReadFile(s.tagPath(repo, ref))
		if errors.Is(err, fs.ErrNotExist) {
			return storedManifest{}, fmt.Errorf("manifest %s:%s: %w", repo, ref, ErrNotFound)
		}
		if err != nil {
			return storedManifest{}, fmt.Errorf("read tag %s:%s: %w", repo, ref, err)
		}
		digest = strings.TrimSpace(string(b))
	}
	return s.read(s.manifestPath(repo, digest))
}

func (s *manifestStore) read(p string) (storedManifest, error) {
	var m storedManifest
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("manifest %s: %w", filepath.Base(p), ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("read manifest: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("decode manifest %s: %w", p, err)
	}
	return m, nil
}

// list returns the manifests of repo, oldest push first.
func (s *manifestStore) list(repo string) ([]storedManifest, error) {
	entries, err := os.ReadDir(filepath.Join(s.repoDir(repo), "_manifests"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list manifests of %s: %w", repo, err)
	}
	var out []storedManifest
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		m, err := s.read(filepath.Join(s.repoDir(repo), "_manifests", e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].PushedAt.Equal(out[j].PushedAt) {
			return out[i].PushedAt.Before(out[j].PushedAt)
		}
		return out[i].Digest < out[j].Digest
	})
	return out, nil
}

// tags returns tag → digest for repo.
func (s *manifestStore) tags(repo string) (map[string]string, error) {
	dir := filepath.Join(s.repoDir(repo), "_tags")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", repo, err)
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read tag %s:%s: %w", repo, e.Name(), err)
		}
		out[e.Name()] = strings.TrimSpace(string(b))
	}
	return out, nil
}

// repositories returns every repository that holds a manifest, sorted.
func (s *manifestStore) repositories() ([]string, error) {
	var out []string
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == s.dir {
			return filepath.SkipAll
		}
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "_manifests" {
			rel, err := filepath.Rel(s.dir, filepath.Dir(p))
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
			return filepath.SkipDir
		}
		if d.IsDir() && d.Name() == "_tags" {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

// remove deletes the manifest digest from repo and every tag pointing at it.
func (s *manifestStore) remove(repo, digest string) (removedTags []string, err error) {
	tags, err := s.tags(repo)
	if err != nil {
		return nil, err
	}
	for t, d := range tags {
		if d != digest {
			continue
		}
		if err := os.Remove(s.tagPath(repo, t)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removedTags, fmt.Errorf("untag %s:%s: %w", repo, t, err)
		}
		removedTags = append(removedTags, t)
	}
	sort.Strings(removedTags)
	if err := os.Remove(s.manifestPath(repo, digest)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return removedTags, fmt.Errorf("delete %s@%s: %w", repo, digest, ErrNotFound)
		}
		return removedTags, fmt.Errorf("delete %s@%s: %w", repo, digest, err)
	}
	return removedTags, nil
}

// writeFileAtomic writes data to a temporary file beside p and renames it.
func writeFileAtomic(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
