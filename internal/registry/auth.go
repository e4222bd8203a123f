package registry

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/canaryflow/canaryflow/internal/secretfile"
)

// Username is the user name canaryflow's clients send with basic auth. The
// registry checks only the password (the token), as ECR does with "AWS".
const Username = "canaryflow"

// tokenFile is where the push/pull token lives inside the registry directory.
const tokenFile = "auth-token"

// LoadOrCreateToken returns the registry token stored in dir, creating a
// random one (readable by the owner only) the first time. The CLI, the
// runtimes and the daemon share it through this file; one others can read
// or write is refused.
func LoadOrCreateToken(dir string) (string, error) {
	tok, err := secretfile.LoadOrCreate(filepath.Join(dir, tokenFile))
	if err != nil {
		return "", fmt.Errorf("registry token: %w", err)
	}
	return tok, nil
}

// authorized reports whether req carries the token, as a basic-auth password
// (any user name) or as a bearer token, or a grant still in force.
func (r *Registry) authorized(req *http.Request) bool {
	secret, ok := presented(req)
	if !ok || secret == "" {
		return false
	}
	if r.token != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(r.token)) == 1 {
		return true
	}
	return r.grants.granted(secret, r.opts.Now())
}

// writeUnauthorized answers 401 with the challenge Docker and
// go-containerregistry understand.
func writeUnauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="canaryflow registry"`)
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
}
