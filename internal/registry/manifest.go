package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// serveManifest handles /v2/<repo>/manifests/<ref>: pushes and deletes go
// through the disk store first, reads go to the protocol handler.
func (r *Registry) serveManifest(w http.ResponseWriter, req *http.Request, rt route) {
	ref := rt.rest
	if !isDigest(ref) {
		if err := ValidateTag(ref); err != nil {
			writeError(w, http.StatusBadRequest, "TAG_INVALID", err.Error())
			return
		}
	}
	switch req.Method {
	case http.MethodPut:
		r.putManifest(w, req, rt.repo, ref)
	case http.MethodDelete:
		r.deleteManifest(w, req, rt.repo, ref)
	case http.MethodGet, http.MethodHead:
		r.getManifest(w, req, rt.repo, ref)
	default:
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed on manifests")
	}
}

// getManifest answers from the disk store, so a manifest pushed through
// another process sharing the store is served at once.
func (r *Registry) getManifest(w http.ResponseWriter, req *http.Request, repo, ref string) {
	m, err := r.manifests.get(repo, ref)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
		return
	}
	w.Header().Set("Docker-Content-Digest", m.Digest)
	w.Header().Set("Content-Type", m.MediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.Content)))
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodGet {
		w.Write(m.Content)
	}
}

// serveTags answers /v2/<repo>/tags/list from the disk store.
func (r *Registry) serveTags(w http.ResponseWriter, req *http.Request, repo string) {
	if req.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed on tags")
		return
	}
	tags, err := r.manifests.tags(repo)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
		return
	}
	ms, err := r.manifests.list(repo)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
		return
	}
	if len(ms) == 0 {
		writeError(w, http.StatusNotFound, "NAME_UNKNOWN", "unknown repository "+repo)
		return
	}
	names := make([]string, 0, len(tags))
	for t := range tags {
		names = append(names, t)
	}
	sort.Strings(names)
	if last := req.URL.Query().Get("last"); last != "" {
		i := sort.SearchStrings(names, last)
		for i < len(names) && names[i] <= last {
			i++
		}
		names = names[i:]
	}
	if n, err := strconv.Atoi(req.URL.Query().Get("n")); err == nil && n >= 0 && n < len(names) {
		names = names[:n]
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{repo, names})
}

// serveCatalog answers /v2/_catalog from the disk store.
func (r *Registry) serveCatalog(w http.ResponseWriter, _ *http.Request) {
	repos, err := r.manifests.repositories()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
		return
	}
	if repos == nil {
		repos = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Repositories []string `json:"repositories"`
	}{repos})
}

// putManifest verifies and stores a pushed manifest, then runs the
// lifecycle rule for its repository.
func (r *Registry) putManifest(w http.ResponseWriter, req *http.Request, repo, ref string) {
	defer drain(req.Body)
	max := r.opts.MaxManifestBytes
	body, err := io.ReadAll(io.LimitReader(req.Body, max+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "MANIFEST_INVALID", err.Error())
		return
	}
	if int64(len(body)) > max {
		writeError(w, http.StatusRequestEntityTooLarge, "SIZE_INVALID", fmt.Sprintf("manifest larger than %d bytes", max))
		return
	}
	h, _, _ := v1.SHA256(bytes.NewReader(body))
	digest := h.String()
	if isDigest(ref) && ref != digest {
		writeError(w, http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("manifest digest is %s, not %s", digest, ref))
		return
	}
	mediaType := req.Header.Get("Content-Type")
	if mediaType == "" {
		var probe struct {
			MediaType string `json:"mediaType"`
		}
		_ = json.Unmarshal(body, &probe)
		mediaType = probe.MediaType
	}

	r.mu.Lock()
	if code, err := r.checkReferences(repo, types.MediaType(mediaType), body); err != nil {
		r.mu.Unlock()
		writeError(w, http.StatusBadRequest, code, err.Error())
		return
	}
	m := storedManifest{Digest: digest, MediaType: mediaType, PushedAt: r.opts.Now().UTC(), Content: body}
	err = r.manifests.put(repo, m)
	if err == nil && !isDigest(ref) {
		err = r.manifests.tag(repo, ref, digest)
	}
	r.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
		return
	}
	r.log.Info("image pushed", "repository", repo, "ref", ref, "digest", digest)
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("Location", "/v2/"+repo+"/manifests/"+digest)
	w.WriteHeader(http.StatusCreated)

	if r.opts.KeepLast > 0 {
		if _, err := r.Prune(req.Context(), repo); err != nil {
			r.log.Warn("lifecycle rule", "repository", repo, "err", err)
		}
	}
}

// checkReferences refuses a manifest whose config, layers or child manifests
// are not stored, and manifests of kinds canaryflow does not serve. It
// returns the distribution error code with the error. Callers hold r.mu.
func (r *Registry) checkReferences(repo string, mt types.MediaType, body []byte) (string, error) {
	switch {
	case mt.IsImage():
		m, err := v1.ParseManifest(bytes.NewReader(body))
		if err != nil {
			return "MANIFEST_INVALID", fmt.Errorf("parse manifest: %w", err)
		}
		for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if !d.MediaType.IsDistributable() {
				continue
			}
			if !r.blobs.has(d.Digest) {
				return "MANIFEST_BLOB_UNKNOWN", fmt.Errorf("blob %s is not uploaded", d.Digest)
			}
		}
	case mt.IsIndex():
		idx, err := v1.ParseIndexManifest(bytes.NewReader(body))
		if err != nil {
			return "MANIFEST_INVALID", fmt.Errorf("parse index: %w", err)
		}
		for _, d := range idx.Manifests {
			if _, err := r.manifests.get(repo, d.Digest.String()); err != nil {
				if errors.Is(err, ErrNotFound) {
					return "MANIFEST_UNKNOWN", fmt.Errorf("child manifest %s is not pushed", d.Digest)
				}
				return "INTERNAL_SERVER_ERROR", err
			}
		}
	default:
		return "MANIFEST_INVALID", fmt.Errorf("unsupported manifest media type %q", mt)
	}
	return "", nil
}

// deleteManifest removes a tag (ref is a tag) or an image (ref is a digest).
func (r *Registry) deleteManifest(w http.ResponseWriter, req *http.Request, repo, ref string) {
	var err error
	if isDigest(ref) {
		_, err = r.Delete(req.Context(), repo, ref)
	} else {
		err = r.Untag(repo, ref)
	}
	var inUse *InUseError
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", err.Error())
	case errors.As(err, &inUse):
		writeError(w, http.StatusConflict, "DENIED", err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error())
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

// references returns the blob and child-manifest digests a manifest names.
func references(m storedManifest) []string {
	mt := types.MediaType(m.MediaType)
	var out []string
	switch {
	case mt.IsImage():
		mf, err := v1.ParseManifest(bytes.NewReader(m.Content))
		if err != nil {
			return nil
		}
		out = append(out, mf.Config.Digest.String())
		for _, l := range mf.Layers {
			out = append(out, l.Digest.String())
		}
	case mt.IsIndex():
		idx, err := v1.ParseIndexManifest(bytes.NewReader(m.Content))
		if err != nil {
			return nil
		}
		for _, d := range idx.Manifests {
			out = append(out, d.Digest.String())
		}
	}
	return out
}
