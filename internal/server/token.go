package server

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/canaryflow/canaryflow/internal/secretfile"
)

// TokenFile holds the API's bearer token in the state directory, readable
// by its owner only. The first `canaryflow up` creates it; every later
// start and every CLI command of the same user reads it, so the token is
// there without anyone typing it.
const TokenFile = "api-token"

// ErrTokenFile is wrapped by every error about the token file; a file that
// must not be trusted also wraps secretfile.ErrUnsafe.
var ErrTokenFile = errors.New("API token file")

// LoadOrCreateToken returns the token in stateDir's TokenFile, creating
// the file with a new random token if there is none. A file others can
// read or write is refused: its token may be known to them.
func LoadOrCreateToken(stateDir string) (string, error) {
	tok, err := secretfile.LoadOrCreate(filepath.Join(stateDir, TokenFile))
	if err != nil {
		return "", fmt.Errorf("%w %w", ErrTokenFile, err)
	}
	return tok, nil
}

// ReadToken reads the token in stateDir's TokenFile; an error wrapping
// fs.ErrNotExist means there is none yet.
func ReadToken(stateDir string) (string, error) {
	tok, err := secretfile.Read(filepath.Join(stateDir, TokenFile))
	if err != nil {
		return "", fmt.Errorf("%w %w", ErrTokenFile, err)
	}
	return tok, nil
}
