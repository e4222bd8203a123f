// Package secretfile keeps a random token in a file only its owner can
// read: the daemon's API token, the embedded registry's token and the
// proxy's generated admin token. Each is created the first time it is
// needed and found there by every later process of the same user, so a
// token never has to be typed or shown; a file others could read or write
// is refused, since its token may be known to them. One package, so the
// three agree on how a secret is drawn, written and trusted.
package secretfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrUnsafe is wrapped by the error for a file whose token must not be
// trusted: not a regular file, open to others, or not one token on one line.
var ErrUnsafe = errors.New("secret file not to be trusted")

// unsafeError says why a file is not trusted and is ErrUnsafe, without
// ErrUnsafe's words in its message ("path: why").
type unsafeError struct{ msg string }

func (e *unsafeError) Error() string        { return e.msg }
func (e *unsafeError) Is(target error) bool { return target == ErrUnsafe }

func unsafef(format string, args ...any) error {
	return &unsafeError{fmt.Sprintf(format, args...)}
}

// New returns a new token: 32 random bytes in hex.
func New() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}

// Read returns the token in path. An error wrapping fs.ErrNotExist means
// there is none yet; one wrapping ErrUnsafe, that the file is not to be
// trusted (it is left as it is: the user removes it for a new token).
func Read(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		// A link to nowhere is refused; a file that appeared since the
		// open (another process creating it) is not.
		if lfi, lerr := os.Lstat(path); lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 {
			return "", unsafef("%s: not a regular file", path)
		}
		return "", err // *fs.PathError names path
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if lfi, err := os.Lstat(path); err != nil || !lfi.Mode().IsRegular() || !fi.Mode().IsRegular() {
		return "", unsafef("%s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", unsafef("%s: mode %04o lets others read or write it; remove it for a new token", path, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, 4<<10))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", unsafef("%s: want one token on one line; remove it for a new token", path)
	}
	return tok, nil
}

// LoadOrCreate returns the token in path, creating the file (mode 0600,
// its directory 0700) with a New token when there is none. The token is
// written to a temporary file first and linked into place, so a reader
// never sees half a token, and a process that loses the race to create
// the file uses the winner's token.
func LoadOrCreate(path string) (string, error) {
	tok, err := Read(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, ".secret-*") // 0600, O_EXCL
	if err != nil {
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	tok = New()
	_, werr := f.WriteString(tok + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	switch err := os.Link(f.Name(), path); {
	case errors.Is(err, fs.ErrExist):
		return Read(path) // another process created it first: use its token
	case err != nil:
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	return tok, nil
}
