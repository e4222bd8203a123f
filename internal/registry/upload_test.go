package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// uploadClient speaks the chunked upload protocol to a registry, by hand.
type uploadClient struct {
	t     *testing.T
	host  string
	token string
}

func (c uploadClient) do(method, path string, body string, header ...string) *http.Response {
	c.t.Helper()
	req, err := http.NewRequest(method, "http://"+c.host+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.SetBasicAuth(Username, c.token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// start opens an upload in repo and returns its location.
func (c uploadClient) start(repo string) string {
	c.t.Helper()
	resp := c.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", "")
	if resp.StatusCode != http.StatusAccepted {
		c.t.Fatalf("start upload = %d, want 202", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestChunkedUploadRoundTrip(t *testing.T) {
	r, host := testRegistry(t, Options{Dir: t.TempDir()})
	c := uploadClient{t, host, r.Token()}
	loc := c.start("app")
	if resp := c.do(http.MethodPatch, loc, "hello ", "Content-Range", "0-5"); resp.StatusCode != http.StatusAccepted || resp.Header.Get("Range") != "0-5" {
		t.Fatalf("first chunk = %d range %q", resp.StatusCode, resp.Header.Get("Range"))
	}
	if resp := c.do(http.MethodPatch, loc, "world"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("streamed chunk = %d", resp.StatusCode)
	}
	d := digestOf("hello world!")
	if resp := c.do(http.MethodPut, loc+"?digest="+d, "!"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("finish = %d", resp.StatusCode)
	}
	if resp := c.do(http.MethodGet, "/v2/app/blobs/"+d, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("get blob = %d", resp.StatusCode)
	}
	if resp := c.do(http.MethodPut, c.start("app")+"?digest="+digestOf("other"), "not other"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrong digest = %d, want 400", resp.StatusCode)
	}
}

// An upload cannot grow past MaxBlobBytes by coming in several chunks, each
// under the limit: the first chunk to cross it is refused and the upload
// freed.
func TestChunkedUploadIsBoundedInTotal(t *testing.T) {
	dir := t.TempDir()
	r, host := testRegistry(t, Options{Dir: dir, MaxBlobBytes: 100})
	c := uploadClient{t, host, r.Token()}
	loc := c.start("app")
	chunk := strings.Repeat("x", 60)
	if resp := c.do(http.MethodPatch, loc, chunk); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first chunk = %d, want 202", resp.StatusCode)
	}
	if resp := c.do(http.MethodPatch, loc, chunk); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunk past the limit = %d, want 413", resp.StatusCode)
	}
	if resp := c.do(http.MethodPatch, loc, "y"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("upload after 413 = %d, want 404 (freed)", resp.StatusCode)
	}
	assertNoSpool(t, dir)
}

// A Content-Range of "N-0" (or any range the body does not fill) is 416 and
// is not counted as a small chunk.
func TestContentRangeNToZeroIs416(t *testing.T) {
	r, host := testRegistry(t, Options{Dir: t.TempDir(), MaxBlobBytes: 100})
	c := uploadClient{t, host, r.Token()}
	loc := c.start("app")
	chunk := strings.Repeat("x", 60)
	if resp := c.do(http.MethodPatch, loc, chunk, "Content-Range", "0-59"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first chunk = %d, want 202", resp.StatusCode)
	}
	for _, cr := range []string{"60-0", "60-50", "61-120", "60-x", "60-99999999999999999999"} {
		if resp := c.do(http.MethodPatch, loc, chunk, "Content-Range", cr); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("Content-Range %s = %d, want 416", cr, resp.StatusCode)
		}
	}
	if resp := c.do(http.MethodPatch, loc, "yy", "Content-Range", "60-69"); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("range longer than the body = %d, want 416", resp.StatusCode)
	}
	// The refused chunks changed nothing: the upload still has 60 bytes.
	if resp := c.do(http.MethodGet, loc, ""); resp.Header.Get("Range") != "0-59" {
		t.Errorf("upload range after refusals = %q, want 0-59", resp.Header.Get("Range"))
	}
}

// An upload nobody finishes is freed, file and all, once idle past
// UploadIdle on the registry's clock.
func TestAbandonedUploadIsFreed(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	r, host := testRegistry(t, Options{Dir: dir, UploadIdle: time.Minute, Now: clock.Now})
	c := uploadClient{t, host, r.Token()}
	loc := c.start("app")
	if resp := c.do(http.MethodPatch, loc, "abandoned bytes"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("chunk = %d", resp.StatusCode)
	}
	id := loc[strings.LastIndex(loc, "/")+1:]
	if _, err := os.Stat(filepath.Join(dir, "uploads", id)); err != nil {
		t.Fatalf("upload is not spooled to disk: %v", err)
	}
	// Every upload request sweeps; so does the Serve loop's ticker.
	clock.Advance(59 * time.Second)
	c.do(http.MethodDelete, c.start("other"), "")
	if _, err := os.Stat(filepath.Join(dir, "uploads", id)); err != nil {
		t.Fatalf("upload freed before its idle time: %v", err)
	}
	clock.Advance(2 * time.Second)
	c.do(http.MethodDelete, c.start("other"), "")
	assertNoSpool(t, dir)
	if resp := c.do(http.MethodPatch, loc, "more"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("chunk to an abandoned upload = %d, want 404", resp.StatusCode)
	}
}

func assertNoSpool(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(dir, "uploads"))
	if len(entries) != 0 {
		t.Fatalf("uploads/ still holds %d files", len(entries))
	}
}
