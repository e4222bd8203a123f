package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile holds the API's bearer token in the state directory, readable
// by its owner only. The first `canaryflow up` creates it; every later
// start and every CLI command of the same user reads it, so the token is
// there without anyone typing it.
const TokenFile = "api-token"

// ErrTokenFile is returned for a token file that must not be trusted.
var ErrTokenFile = errors.New("API token file")

// LoadOrCreateToken returns the token in stateDir's TokenFile, creating
// the file with a new random token if there is none. A file others can
// read or write is refused: its token may be known to them.
func LoadOrCreateToken(stateDir string) (string, error) {
	path := filepath.Join(stateDir, TokenFile)
	tok, err := ReadToken(stateDir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate API token: %w", err)
	}
	tok = hex.EncodeToString(raw)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another daemon created it first: use its token.
		return ReadToken(stateDir)
	}
	if err != nil {
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	_, err = f.WriteString(tok + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return tok, nil
}

// ReadToken reads the token in stateDir's TokenFile; an error wrapping
// fs.ErrNotExist means there is none yet.
func ReadToken(stateDir string) (string, error) {
	path := filepath.Join(stateDir, TokenFile)
	fi, err := os.Lstat(path)
	if err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrTokenFile, path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w %s: not a regular file", ErrTokenFile, path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%w %s: mode %04o lets others read or write it; remove it and restart `canaryflow up` for a new token", ErrTokenFile, path, perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrTokenFile, path, err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("%w %s: want one token on one line; remove it and restart `canaryflow up` for a new one", ErrTokenFile, path)
	}
	return tok, nil
}
