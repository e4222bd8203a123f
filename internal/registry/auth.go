package registry

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Username is the user name canaryflow's clients send with basic auth. The
// registry checks only the password (the token), as ECR does with "AWS".
const Username = "canaryflow"

// tokenFile is where the push/pull token lives inside the registry directory.
const tokenFile = "auth-token"

// LoadOrCreateToken returns the registry token stored in dir, creating a
// random one (readable by the owner only) the first time. The CLI, the
// runtimes and the daemon share it through this file.
func LoadOrCreateToken(dir string) (string, error) {
	p := filepath.Join(dir, tokenFile)
	b, err := os.ReadFile(p)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read registry token: %w", err)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate registry token: %w", err)
	}
	tok := hex.EncodeToString(raw)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create registry token: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first: use theirs.
		return LoadOrCreateToken(dir)
	}
	if err != nil {
		return "", fmt.Errorf("create registry token: %w", err)
	}
	_, err = f.WriteString(tok + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write registry token: %w", err)
	}
	return tok, nil
}

// authorized reports whether req carries the token, as a basic-auth password
// (any user name) or as a bearer token.
func authorized(req *http.Request, token string) bool {
	if token == "" {
		return false
	}
	if _, pass, ok := req.BasicAuth(); ok {
		return subtle.ConstantTimeCompare([]byte(pass), []byte(token)) == 1
	}
	if bearer, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(bearer)), []byte(token)) == 1
	}
	return false
}

// writeUnauthorized answers 401 with the challenge Docker and
// go-containerregistry understand.
func writeUnauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="canaryflow registry"`)
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
}
