package userfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("a", size)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if data, err := Read(write("limit.yaml", MaxSize)); err != nil || len(data) != MaxSize {
		t.Errorf("a file of exactly MaxSize: %d bytes, %v", len(data), err)
	}
	big := write("big.yaml", 2<<20)
	_, err := Read(big)
	var ue *Error
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &ue) || ue.ExitCode() != 2 ||
		!strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("2 MiB file: %v, want ErrTooLarge naming the file and the limit", err)
	}
	if _, err := Read(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	for _, p := range []string{"/dev/zero", dir} {
		if _, err := Read(p); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), p) {
			t.Errorf("Read(%s) = %v, want ErrNotRegular naming it", p, err)
		}
	}
	// A FIFO with no writer is refused at once instead of blocking.
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(fifo); !errors.Is(err, ErrNotRegular) {
		t.Errorf("FIFO: %v, want ErrNotRegular", err)
	}
}
