package registry

import (
	"strings"
	"testing"
)

func TestValidateRepository(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"hello", true},
		{"team/hello", true},
		{"a.b/c-d/e__f", true},
		{"", false},
		{"..", false},
		{".", false},
		{"../etc", false},
		{"team/../etc", false},
		{"/abs", false},
		{"trailing/", false},
		{"a//b", false},
		{"Upper", false},
		{"-lead", false},
		{"a..b", false},
		{"x/_manifests", false},
		{strings.Repeat("a", 256), false},
		{"spa ce", false},
		{"nul\x00", false},
	} {
		err := ValidateRepository(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateRepository(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestParseRoute(t *testing.T) {
	for _, tc := range []struct {
		path, kind, repo, rest string
		bad                    bool
	}{
		{path: "/v2/", kind: "base"},
		{path: "/v2/_catalog", kind: "catalog"},
		{path: "/v2/hello/manifests/v1", kind: "manifests", repo: "hello", rest: "v1"},
		{path: "/v2/a/b/blobs/uploads/", kind: "blobs", repo: "a/b", rest: "uploads/"},
		{path: "/v2/a/blobs/uploads/123", kind: "blobs", repo: "a", rest: "uploads/123"},
		{path: "/v2/blobs/blobs/sha256:ab", kind: "blobs", repo: "blobs", rest: "sha256:ab"},
		{path: "/v2/x/tags/list", kind: "tags", repo: "x", rest: "list"},
		{path: "/v2/../x/manifests/v1", bad: true},
		{path: "/v2/x/manifests/", bad: true},
		{path: "/v1/x/manifests/v1", bad: true},
		{path: "/v2/x", bad: true},
	} {
		r, err := parseRoute(tc.path)
		if tc.bad {
			if err == nil {
				t.Errorf("parseRoute(%q) = %+v, want error", tc.path, r)
			}
			continue
		}
		if err != nil || r.kind != tc.kind || r.repo != tc.repo || r.rest != tc.rest {
			t.Errorf("parseRoute(%q) = %+v, %v", tc.path, r, err)
		}
	}
}

func TestParseRef(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct {
		in   string
		want Ref
		bad  bool
	}{
		{in: "hello", want: Ref{Repository: "hello"}},
		{in: "hello:v1.2.3", want: Ref{Repository: "hello", Tag: "v1.2.3"}},
		{in: "127.0.0.1:5000/team/hello:v1@" + d, want: Ref{Host: "127.0.0.1:5000", Repository: "team/hello", Tag: "v1", Digest: d}},
		{in: "localhost/hello@" + d, want: Ref{Host: "localhost", Repository: "hello", Digest: d}},
		{in: "hello@sha256:short", bad: true},
		{in: "../hello", bad: true},
		{in: "hello:", bad: true},
		{in: "Hello", bad: true},
		{in: "", bad: true},
	} {
		got, err := ParseRef(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseRef(%q) = %+v, want error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if got.String() != tc.in {
			t.Errorf("ParseRef(%q).String() = %q", tc.in, got.String())
		}
	}
}

// FuzzParseRoute checks that no accepted path yields a repository that could
// leave the store directory.
func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"/v2/hello/manifests/v1", "/v2/a/../b/blobs/uploads/", "/v2/_catalog", "/v2//x/tags/list"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := parseRoute(p)
		if err != nil {
			return
		}
		if r.repo == "" {
			return
		}
		if strings.HasPrefix(r.repo, "/") || strings.Contains(r.repo, "..") || strings.Contains(r.repo, "//") {
			t.Fatalf("parseRoute(%q) accepted repo %q", p, r.repo)
		}
	})
}

// FuzzParseRef checks that parsing never panics and round-trips.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"hello", "127.0.0.1:5000/a/b:v1", "x@sha256:" + strings.Repeat("0", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			return
		}
		if ValidateRepository(r.Repository) != nil {
			t.Fatalf("ParseRef(%q) accepted repository %q", s, r.Repository)
		}
		again, err := ParseRef(r.String())
		if err != nil || again != r {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
	})
}

func TestValidateHost(t *testing.T) {
	for host, ok := range map[string]bool{
		"ghcr.io": true, "registry.example:5000": true, "localhost": true, "localhost:5000": true, "10.0.0.1:5000": true, "a-b.c": true,
		"": false, "ghcr": false, "https://ghcr.io": false, "ghcr.io/team": false, "*.example": false, "ghcr.io:": false,
		"ghcr.io:0": false, "ghcr.io:65536": false, "ghcr.io:+1": false, "ghcr.io:01": false, "-a.example": false, "a..b": false,
		"user@ghcr.io": false, "ghcr.io ": false, "a.example:1:2": false,
	} {
		if err := ValidateHost(host); (err == nil) != ok {
			t.Errorf("ValidateHost(%q) = %v, want ok=%v", host, err, ok)
		}
	}
}

// FuzzValidateHost checks that every accepted host is read back as the host
// of an image reference, so an allowed_registries entry can match one.
func FuzzValidateHost(f *testing.F) {
	for _, s := range []string{"ghcr.io", "registry.example:5000", "localhost", "ghcr", "https://x.y", "a..b", "x.y:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if ValidateHost(host) != nil {
			return
		}
		ref, err := ParseRef(host + "/app:1")
		if err != nil {
			t.Fatalf("accepted host %q, but %q does not parse: %v", host, host+"/app:1", err)
		}
		if ref.Host != host {
			t.Fatalf("accepted host %q is read back as %q", host, ref.Host)
		}
	})
}
