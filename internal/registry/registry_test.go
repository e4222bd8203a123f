package registry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// testRegistry starts a registry over dir on an httptest server.
func testRegistry(t *testing.T, opts Options) (*Registry, string) {
	t.Helper()
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return r, u.Host
}

func push(t *testing.T, host, repoTag string, img v1.Image, token string) string {
	t.Helper()
	ref, err := name.ParseReference(host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: Username, Password: token})); err != nil {
		t.Fatalf("push %s: %v", repoTag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func pull(host, ref, token string) (v1.Image, error) {
	r, err := name.ParseReference(host+"/"+ref, name.Insecure)
	if err != nil {
		return nil, err
	}
	return remote.Image(r, remote.WithAuth(&authn.Basic{Username: Username, Password: token}))
}

func TestPushPullRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r, host := testRegistry(t, Options{Dir: dir})
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	digest := push(t, host, "team/hello:v1.0.0", img, r.Token())

	got, err := pull(host, "team/hello:v1.0.0", r.Token())
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	gd, _ := got.Digest()
	if gd.String() != digest {
		t.Fatalf("pulled digest %s, pushed %s", gd, digest)
	}
	layers, err := got.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("layers = %d, %v", len(layers), err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	imgs, err := r.Images("team/hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Digest != digest || strings.Join(imgs[0].Tags, ",") != "v1.0.0" || imgs[0].Size == 0 {
		t.Fatalf("Images = %+v", imgs)
	}
}

func TestAnonymousPushIsRefused(t *testing.T) {
	r, host := testRegistry(t, Options{Dir: t.TempDir(), AnonymousPull: true})
	resp, err := http.Post("http://"+host+"/v2/hello/blobs/uploads/", "application/octet-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous POST status = %d, want 401", resp.StatusCode)
	}
	if ch := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Basic ") {
		t.Fatalf("WWW-Authenticate = %q", ch)
	}

	img, _ := random.Image(64, 1)
	ref, _ := name.ParseReference(host+"/hello:x", name.Insecure)
	err = remote.Write(ref, img, remote.WithAuth(authn.Anonymous))
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous remote.Write = %v, want 401", err)
	}
	err = remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "x", Password: "wrong"}))
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong-token remote.Write = %v, want 401", err)
	}

	// A bearer token works as well as basic auth.
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/", nil)
	req.Header.Set("Authorization", "Bearer "+r.Token())
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("bearer GET /v2/ = %d", resp.StatusCode)
	}
}

func TestPullNeedsTokenByDefault(t *testing.T) {
	_, host := testRegistry(t, Options{Dir: t.TempDir(), Token: "s3cret"})
	resp, err := http.Get("http://" + host + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous GET /v2/ = %d, want 401", resp.StatusCode)
	}
}

func TestTraversalNamesAreRejected(t *testing.T) {
	r, err := New(Options{Dir: t.TempDir(), Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		"/v2/../../etc/manifests/latest",
		"/v2/hello/../../x/manifests/latest",
		"/v2//etc/passwd/manifests/latest",
		"/v2/./hello/blobs/uploads/",
		"/v2/Hello/manifests/latest",
		"/v2/hello/manifests/..",
	} {
		req := httptest.NewRequest(http.MethodPut, "/", strings.NewReader("{}"))
		req.URL.Path = p
		req.SetBasicAuth(Username, "t")
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("PUT %s = %d, want 400", p, rec.Code)
		}
	}
	if _, err := os.Stat(filepath.Join(r.opts.Dir, "..", "etc")); err == nil {
		t.Fatal("a directory was created outside the store")
	}
}

func TestDigestMismatchIsRejected(t *testing.T) {
	dir := t.TempDir()
	r, host := testRegistry(t, Options{Dir: dir})
	wrong := "sha256:" + strings.Repeat("0", 64)
	req, _ := http.NewRequest(http.MethodPost, "http://"+host+"/v2/hello/blobs/uploads/?digest="+wrong, strings.NewReader("not what the digest says"))
	req.SetBasicAuth(Username, r.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("mismatched blob upload = %d, want 400", resp.StatusCode)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if len(entries) != 0 {
		t.Fatalf("blob store kept %d files after a mismatch", len(entries))
	}

	// A manifest pushed by digest must hash to that digest.
	req, _ = http.NewRequest(http.MethodPut, "http://"+host+"/v2/hello/manifests/"+wrong, strings.NewReader(`{"schemaVersion":2}`))
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	req.SetBasicAuth(Username, r.Token())
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("mismatched manifest = %d, want 400", resp.StatusCode)
	}
}

func TestManifestWithMissingBlobIsRejected(t *testing.T) {
	r, host := testRegistry(t, Options{Dir: t.TempDir()})
	body := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:` + strings.Repeat("a", 64) + `"},"layers":[]}`
	req, _ := http.NewRequest(http.MethodPut, "http://"+host+"/v2/hello/manifests/v1", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	req.SetBasicAuth(Username, r.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("manifest with missing config = %d, want 400", resp.StatusCode)
	}
}

func TestSizeLimits(t *testing.T) {
	r, host := testRegistry(t, Options{Dir: t.TempDir(), MaxBlobBytes: 1024, MaxManifestBytes: 64})
	img, _ := random.Image(4096, 1)
	ref, _ := name.ParseReference(host+"/big:x", name.Insecure)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Password: r.Token()})); err == nil {
		t.Fatal("push of a blob over MaxBlobBytes succeeded")
	}
	req, _ := http.NewRequest(http.MethodPut, "http://"+host+"/v2/big/manifests/x", strings.NewReader(strings.Repeat(" ", 65)))
	req.SetBasicAuth(Username, r.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized manifest = %d, want 413", resp.StatusCode)
	}
}

func TestRestartKeepsImages(t *testing.T) {
	dir := t.TempDir()
	r1, err := New(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv1 := httptest.NewServer(r1)
	host1 := strings.TrimPrefix(srv1.URL, "http://")
	img, _ := random.Image(512, 1)
	digest := push(t, host1, "hello:v1", img, r1.Token())
	srv1.Close()

	r2, host2 := testRegistry(t, Options{Dir: dir})
	if r2.Token() != r1.Token() {
		t.Fatal("token changed across restart")
	}
	for _, ref := range []string{"hello:v1", "hello@" + digest} {
		got, err := pull(host2, ref, r2.Token())
		if err != nil {
			t.Fatalf("pull %s after restart: %v", ref, err)
		}
		if d, _ := got.Digest(); d.String() != digest {
			t.Fatalf("digest after restart %s, want %s", d, digest)
		}
		if _, err := got.RawConfigFile(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLifecycleKeepsImagesInUse(t *testing.T) {
	var inUse map[string]bool
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r, host := testRegistry(t, Options{
		Dir:      t.TempDir(),
		KeepLast: 2,
		InUse:    func(context.Context) (map[string]bool, error) { return inUse, nil },
		Now:      func() time.Time { clock = clock.Add(time.Minute); return clock },
	})
	var digests []string
	var layers []v1.Hash
	for i, tag := range []string{"v1", "v2", "v3", "v4"} {
		img, _ := random.Image(256, 1)
		ls, _ := img.Layers()
		h, _ := ls[0].Digest()
		layers = append(layers, h)
		digests = append(digests, push(t, host, "hello:"+tag, img, r.Token()))
		if i == 0 {
			inUse = map[string]bool{digests[0]: true}
		}
	}
	imgs, err := r.Images("hello")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, img := range imgs {
		got = append(got, img.Tags[0])
	}
	if strings.Join(got, ",") != "v4,v3,v1" {
		t.Fatalf("images after lifecycle = %v, want v4,v3,v1 (v1 in use)", got)
	}
	if r.blobs.has(layers[1]) {
		t.Fatal("the deleted image's layer is still stored")
	}
	if _, err := pull(host, "hello@"+digests[1], r.Token()); err == nil {
		t.Fatal("deleted image still pullable")
	}
	if _, err := r.Delete(context.Background(), "hello", "v1"); !errors.As(err, new(*InUseError)) {
		t.Fatalf("Delete of in-use image = %v, want *InUseError", err)
	}
	if _, err := r.Delete(context.Background(), "hello", "v3"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve("hello", "v3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Resolve after Delete = %v", err)
	}
}

func TestTwoProcessesShareOneStore(t *testing.T) {
	dir := t.TempDir()
	a, hostA := testRegistry(t, Options{Dir: dir})
	_, hostB := testRegistry(t, Options{Dir: dir})
	img, _ := random.Image(128, 1)
	digest := push(t, hostA, "team/app:v2", img, a.Token())
	got, err := pull(hostB, "team/app:v2", a.Token())
	if err != nil {
		t.Fatalf("pull from the second server: %v", err)
	}
	if d, _ := got.Digest(); d.String() != digest {
		t.Fatalf("digest %s, want %s", d, digest)
	}
	auth := remote.WithAuth(&authn.Basic{Username: Username, Password: a.Token()})
	repo, _ := name.NewRepository(hostB+"/team/app", name.Insecure)
	tags, err := remote.List(repo, auth)
	if err != nil || strings.Join(tags, ",") != "v2" {
		t.Fatalf("tags = %v, %v", tags, err)
	}
	reg, _ := name.NewRegistry(hostB, name.Insecure)
	repos, err := remote.Catalog(context.Background(), reg, auth)
	if err != nil || strings.Join(repos, ",") != "team/app" {
		t.Fatalf("catalog = %v, %v", repos, err)
	}
}
