package registry

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultUploadIdle is how long an upload may go without a request before
// it is abandoned and its spooled bytes are freed.
const DefaultUploadIdle = 15 * time.Minute

// maxOpenUploads bounds the uploads in progress at once, so abandoned ones
// cannot fill the disk before they are swept.
const maxOpenUploads = 64

// uploadSessions spools blob uploads to files under dir, one per upload,
// instead of holding them in memory. Every upload is bounded by max bytes in
// total, whatever its chunks say, and is freed once idle for longer than
// idle on the registry's clock.
type uploadSessions struct {
	dir  string
	max  int64
	idle time.Duration
	now  func() time.Time

	mu   sync.Mutex
	open map[string]*upload
}

// upload is one blob upload in progress.
type upload struct {
	id   string
	repo string
	size int64
	last time.Time
	busy bool // a request is writing or finishing it
}

// uploadError is an upload request's failure and the answer it gets.
type uploadError struct {
	status int
	code   string
	msg    string
}

func (e *uploadError) Error() string { return e.msg }

func errUploadUnknown(id string) *uploadError {
	return &uploadError{http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", fmt.Sprintf("upload %q is unknown or was abandoned", id)}
}

func (s *uploadSessions) path(id string) string { return filepath.Join(s.dir, id) }

// start opens a new upload for repo.
func (s *uploadSessions) start(repo string) (*upload, error) {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("start upload: %w", err)
	}
	u := &upload{id: hex.EncodeToString(raw), repo: repo, last: s.now(), busy: true}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.open) >= maxOpenUploads {
		return nil, &uploadError{http.StatusTooManyRequests, "TOOMANYREQUESTS", fmt.Sprintf("%d uploads are in progress already", maxOpenUploads)}
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("start upload: %w", err)
	}
	f, err := os.OpenFile(s.path(u.id), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start upload: %w", err)
	}
	f.Close()
	s.open[u.id] = u
	return u, nil
}

// acquire marks the upload id of repo busy for one request.
func (s *uploadSessions) acquire(repo, id string) (*upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.open[id]
	if !ok || u.repo != repo {
		return nil, errUploadUnknown(id)
	}
	if u.busy {
		return nil, &uploadError{http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID", fmt.Sprintf("upload %q is being written by another request", id)}
	}
	u.busy = true
	return u, nil
}

// release ends a request on u; it stays open and its idle time restarts.
func (s *uploadSessions) release(u *upload) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.busy = false
	u.last = s.now()
}

// discard closes u and frees its bytes.
func (s *uploadSessions) discard(u *upload) {
	s.mu.Lock()
	delete(s.open, u.id)
	s.mu.Unlock()
	os.Remove(s.path(u.id))
}

// sweep frees every upload idle for longer than the idle time, and spool
// files no upload owns (left by an earlier process) as old as that. It
// returns how many uploads it freed.
func (s *uploadSessions) sweep() int {
	now := s.now()
	s.mu.Lock()
	var stale []string
	for id, u := range s.open {
		if !u.busy && now.Sub(u.last) > s.idle {
			stale = append(stale, id)
			delete(s.open, id)
		}
	}
	owned := make(map[string]bool, len(s.open))
	for id := range s.open {
		owned[id] = true
	}
	s.mu.Unlock()
	for _, id := range stale {
		os.Remove(s.path(id))
	}
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		if owned[e.Name()] {
			continue
		}
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > s.idle {
			os.Remove(s.path(e.Name()))
		}
	}
	return len(stale)
}

// write appends body to u. With a Content-Range the chunk must start where
// the upload ends and carry exactly the bytes it names. Whatever the header
// says, the upload never grows past the maximum: then it is discarded and
// the answer is 413. On any other failure the upload keeps what it had.
func (s *uploadSessions) write(u *upload, req *http.Request) error {
	var want int64 = -1
	if cr := req.Header.Get("Content-Range"); cr != "" {
		rng, err := parseContentRange(cr)
		if err != nil {
			return &uploadError{http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID", err.Error()}
		}
		if rng.Start != u.size {
			return &uploadError{http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID",
				fmt.Sprintf("%v: chunk starts at %d but the upload has %d bytes", ErrBadRange, rng.Start, u.size)}
		}
		if req.ContentLength >= 0 && req.ContentLength != rng.Len() {
			return &uploadError{http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID",
				fmt.Sprintf("%v: range %q is %d bytes but the body is %d", ErrBadRange, cr, rng.Len(), req.ContentLength)}
		}
		want = rng.Len()
	}
	if req.ContentLength > s.max-u.size || want > s.max-u.size {
		s.discard(u)
		return errTooLarge(s.max)
	}
	f, err := os.OpenFile(s.path(u.id), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("write upload %s: %w", u.id, err)
	}
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(req.Body, s.max-u.size+1))
	if u.size+n > s.max {
		f.Close()
		s.discard(u)
		return errTooLarge(s.max)
	}
	if err == nil && want >= 0 && n != want {
		err = &uploadError{http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID",
			fmt.Sprintf("%v: range names %d bytes but the body had %d", ErrBadRange, want, n)}
	}
	if err != nil {
		if terr := f.Truncate(u.size); terr != nil {
			f.Close()
			s.discard(u)
		}
		return err
	}
	u.size += n
	return nil
}

func errTooLarge(max int64) *uploadError {
	return &uploadError{http.StatusRequestEntityTooLarge, "SIZE_INVALID", fmt.Sprintf("blob larger than %d bytes", max)}
}

// finish checks that u's bytes have digest and moves them into the blob
// store. The upload is closed whatever the outcome.
func (s *uploadSessions) finish(u *upload, digest string, blobs *blobStore) (v1.Hash, error) {
	defer s.discard(u)
	h, err := v1.NewHash(digest)
	if err != nil || !isDigest(digest) {
		return v1.Hash{}, &uploadError{http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("digest %q is not sha256:<64 hex>", digest)}
	}
	f, err := os.Open(s.path(u.id))
	if err != nil {
		return v1.Hash{}, fmt.Errorf("finish upload %s: %w", u.id, err)
	}
	sum := sha256.New()
	_, err = io.Copy(sum, f)
	f.Close()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("finish upload %s: %w", u.id, err)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != h.Hex {
		return v1.Hash{}, &uploadError{http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("upload has digest sha256:%s, not %s", got, digest)}
	}
	if err := blobs.adopt(h, s.path(u.id)); err != nil {
		return v1.Hash{}, err
	}
	return h, nil
}

// serveUpload answers the upload endpoints: POST …/blobs/uploads/ (start,
// or a whole blob with ?digest=), PATCH (a chunk), PUT (the last chunk and
// the digest), GET (progress) and DELETE (cancel) on …/uploads/<id>.
func (r *Registry) serveUpload(w http.ResponseWriter, req *http.Request, rt route) {
	r.uploads.sweep()
	id := strings.TrimPrefix(strings.TrimPrefix(rt.rest, "uploads"), "/")
	var (
		u   *upload
		err error
	)
	switch {
	case req.Method == http.MethodPost && id == "":
		u, err = r.uploads.start(rt.repo)
	case id != "" && (req.Method == http.MethodPatch || req.Method == http.MethodPut ||
		req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodDelete):
		u, err = r.uploads.acquire(rt.repo, id)
	default:
		err = &uploadError{http.StatusMethodNotAllowed, "UNSUPPORTED", req.Method + " is not an upload method here"}
	}
	if err != nil {
		writeUploadError(w, err)
		return
	}
	location := "/v2/" + rt.repo + "/blobs/uploads/" + u.id
	digest := req.URL.Query().Get("digest")
	switch req.Method {
	case http.MethodDelete:
		r.uploads.discard(u)
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet, http.MethodHead:
		r.uploads.release(u)
		w.Header().Set("Location", location)
		w.Header().Set("Range", fmt.Sprintf("0-%d", max(u.size-1, 0)))
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPost:
		if digest == "" {
			r.uploads.release(u)
			w.Header().Set("Location", location)
			w.Header().Set("Range", "0-0")
			w.Header().Set("Docker-Upload-UUID", u.id)
			w.WriteHeader(http.StatusAccepted)
			return
		}
	}
	if err := r.uploads.write(u, req); err != nil {
		var ue *uploadError
		if !errors.As(err, &ue) || ue.status != http.StatusRequestEntityTooLarge {
			r.uploads.release(u)
		}
		writeUploadError(w, err)
		return
	}
	if req.Method == http.MethodPatch {
		r.uploads.release(u)
		w.Header().Set("Location", location)
		w.Header().Set("Range", fmt.Sprintf("0-%d", max(u.size-1, 0)))
		w.Header().Set("Docker-Upload-UUID", u.id)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	h, err := r.uploads.finish(u, digest, r.blobs)
	if err != nil {
		writeUploadError(w, err)
		return
	}
	w.Header().Set("Docker-Content-Digest", h.String())
	w.Header().Set("Location", "/v2/"+rt.repo+"/blobs/"+h.String())
	w.WriteHeader(http.StatusCreated)
}

func writeUploadError(w http.ResponseWriter, err error) {
	var ue *uploadError
	if errors.As(err, &ue) {
		writeError(w, ue.status, ue.code, ue.msg)
		return
	}
	writeError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
}
