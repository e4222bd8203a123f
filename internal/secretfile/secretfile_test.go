package secretfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "api-token")
	tok, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 64 || strings.Trim(tok, "0123456789abcdef") != "" {
		t.Errorf("token %q, want 64 hex digits", tok)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %04o", p, fi.Mode().Perm(), err, want)
		}
	}
	if again, err := LoadOrCreate(path); err != nil || again != tok {
		t.Errorf("second load: %v, same token %v", err, again == tok)
	}
	if other, _ := LoadOrCreate(filepath.Join(t.TempDir(), "t")); other == tok {
		t.Error("two files got the same token")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want the token file only", len(entries))
	}
}

// TestLoadOrCreateRace: processes starting at once all get the one token
// that ends up in the file.
func TestLoadOrCreateRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	toks := make([]string, 8)
	var wg sync.WaitGroup
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if toks[i], err = LoadOrCreate(path); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	want, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if tok != want {
			t.Fatalf("got %q, file holds %q", tok, want)
		}
	}
}

func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(filepath.Join(dir, "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	for name, tc := range map[string]struct {
		content string
		mode    os.FileMode
		want    string
	}{
		"readable by others": {"tok\n", 0o644, "mode 0644 lets others read or write it"},
		"writable by group":  {"tok\n", 0o620, "mode 0620"},
		"empty":              {"\n", 0o600, "one token on one line"},
		"two tokens":         {"a b\n", 0o600, "one token on one line"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, tc.mode); err != nil {
			t.Fatal(err)
		}
		for _, f := range []func(string) (string, error){Read, LoadOrCreate} {
			if _, err := f(p); !errors.Is(err, ErrUnsafe) || !strings.HasPrefix(err.Error(), p+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v, want ErrUnsafe saying %q", name, err, tc.want)
			}
		}
		if data, _ := os.ReadFile(p); string(data) != tc.content {
			t.Errorf("%s: file changed to %q", name, data)
		}
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), link); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(link); !errors.Is(err, ErrUnsafe) {
		t.Errorf("symbolic link: %v, want ErrUnsafe", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Error("LoadOrCreate wrote through a symbolic link")
	}
}
