package proxycmd

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/canaryflow/canaryflow/internal/secretfile"
	"github.com/canaryflow/canaryflow/internal/statedir"
)

// TestTokenFile checks where the generated admin token goes, that only its
// user can read it, that every loopback spelling of the admin address
// finds it, and that a proxy removes only its own.
func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(statedir.Env, dir)
	path, err := tokenFile("127.0.0.1:8090")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "proxy", "admin-loopback-8090.token"); path != want {
		t.Fatalf("tokenFile = %s, want %s", path, want)
	}
	for _, addr := range []string{"localhost:8090", "[::1]:8090", "127.0.0.2:8090"} {
		if p, _ := tokenFile(addr); p != path {
			t.Errorf("tokenFile(%s) = %s, want %s", addr, p, path)
		}
	}
	if p, _ := tokenFile("10.0.0.1:8090"); filepath.Base(p) != "admin-10.0.0.1-8090.token" {
		t.Errorf("tokenFile(10.0.0.1:8090) = %s", p)
	}
	if p, _ := tokenFile("[fe80::1%eth0]:8090"); filepath.Base(p) != "admin-fe80__1_eth0-8090.token" {
		t.Errorf("tokenFile(fe80::1%%eth0) = %s", p)
	}
	if _, err := tokenFile("nonsense"); err == nil {
		t.Error("tokenFile(nonsense): want error")
	}

	token, err := secretfile.LoadOrCreate(path) // as runProxy writes it
	if err != nil || len(token) != 64 {
		t.Fatalf("token %q, %v", token, err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %v", p, fi.Mode().Perm(), err, want)
		}
	}
	if got, err := readTokenFile("localhost:8090"); err != nil || got != token {
		t.Fatalf("readTokenFile = %q, %v", got, err)
	}
	removeTokenFile(path, "another proxy's")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("removed another proxy's token file: %v", err)
	}
	removeTokenFile(path, token)
	if _, err := readTokenFile("127.0.0.1:8090"); err == nil {
		t.Fatal("token file still there")
	}
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readTokenFile("127.0.0.1:8090"); !errors.Is(err, secretfile.ErrUnsafe) {
		t.Fatalf("token file readable by others: %v, want it refused", err)
	}
}
