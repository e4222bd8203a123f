package protect

import (
	"strings"
	"testing"
)

func TestParseUpdates(t *testing.T) {
	z := strings.Repeat("0", 40)
	a := strings.Repeat("a", 40)
	b := strings.Repeat("b", 64)
	tests := []struct {
		name, in string
		want     []Update
		err      string
	}{
		{"create", z + " " + a + " refs/heads/main\n", []Update{{z, a, "refs/heads/main"}}, ""},
		{"two lines, sha256 delete", a + " " + z + " refs/tags/v1.0.0\n" + b + " " + strings.Repeat("0", 64) + " refs/heads/x\n",
			[]Update{{a, z, "refs/tags/v1.0.0"}, {b, strings.Repeat("0", 64), "refs/heads/x"}}, ""},
		{"empty", "", nil, ""},
		{"not a ref", z + " " + a + " main\n", nil, "want \"OLD NEW REF\""},
		{"upper-case hex", strings.ToUpper(a) + " " + a + " refs/heads/main", nil, "line 1"},
		{"mixed lengths", a + " " + b + " refs/heads/main", nil, "line 1"},
		{"extra field", z + " " + a + " refs/heads/main x", nil, "line 1"},
		{"option-like ref", z + " " + a + " --upload-pack=x", nil, "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseUpdates(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("update %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// FuzzParseUpdates checks that any input either parses into well-formed
// updates or is refused; it never panics.
func FuzzParseUpdates(f *testing.F) {
	z := strings.Repeat("0", 40)
	a := strings.Repeat("a", 40)
	f.Add(z + " " + a + " refs/heads/main\n")
	f.Add(a + " " + z + " refs/tags/v1.0.0\n\n")
	f.Add("x y z")
	f.Fuzz(func(t *testing.T, in string) {
		ups, err := ParseUpdates(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, u := range ups {
			if !isObjectName(u.Old) || !isObjectName(u.New) || !strings.HasPrefix(u.Ref, "refs/") || strings.ContainsAny(u.Ref, " \n") {
				t.Fatalf("accepted a malformed update %+v from %q", u, in)
			}
		}
	})
}

func TestRemotes(t *testing.T) {
	for _, tt := range []struct {
		url         string
		owner, name string
		github      bool
		local       string
		isLocal     bool
	}{
		{url: "https://github.com/acme/shop.git", owner: "acme", name: "shop", github: true},
		{url: "git@github.com:acme/shop.git", owner: "acme", name: "shop", github: true},
		{url: "ssh://git@github.com/acme/shop", owner: "acme", name: "shop", github: true},
		{url: "https://github.com/acme", github: false},
		{url: "https://gitlab.com/acme/shop.git"},
		{url: "https://github.com/acme/../x"},
		{url: "/srv/git/shop.git", local: "/srv/git/shop.git", isLocal: true},
		{url: "file:///srv/git/shop.git", local: "/srv/git/shop.git", isLocal: true},
		{url: "../origin.git", local: "/work/origin.git", isLocal: true},
		{url: "origin.git", local: "/work/app/origin.git", isLocal: true},
		{url: "host:shop.git"},
		{url: "file://otherhost/srv/shop.git"},
	} {
		o, n, ok := GitHubRepo(tt.url)
		if ok != tt.github || o != tt.owner || n != tt.name {
			t.Errorf("GitHubRepo(%q) = %q, %q, %v", tt.url, o, n, ok)
		}
		dir, ok := LocalOrigin(tt.url, "/work/app")
		if ok != tt.isLocal || dir != tt.local {
			t.Errorf("LocalOrigin(%q) = %q, %v; want %q, %v", tt.url, dir, ok, tt.local, tt.isLocal)
		}
	}
}

// FuzzRemoteURL checks that any remote URL is either refused or read as a
// GitHub repository whose names GitHub would accept; it never panics.
func FuzzRemoteURL(f *testing.F) {
	for _, s := range []string{"https://github.com/acme/shop.git", "git@github.com:acme/shop", "ssh://git@github.com/a/b/", "file:///srv/x.git", "../o.git", "host:x", "https://github.com/a/../b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		if owner, name, ok := GitHubRepo(u); ok {
			if !githubName.MatchString(owner) || !githubName.MatchString(name) || strings.ContainsAny(owner+name, "/:@ ") {
				t.Fatalf("GitHubRepo(%q) = %q, %q", u, owner, name)
			}
		}
		if dir, ok := LocalOrigin(u, "/work/app"); ok && !strings.HasPrefix(dir, "/") {
			t.Fatalf("LocalOrigin(%q) = %q, not absolute", u, dir)
		}
	})
}
