package registry

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// grants are short-lived credentials the registry accepts besides its
// token: what a build's `aws ecr get-login-password` hands to `docker
// login`, so the long-lived token never reaches a build's commands, its
// Docker configuration or its log.
type grants struct {
	mu     sync.Mutex
	expiry map[string]time.Time // token → when it stops working
}

// Grant issues a credential that works as the registry's token until ttl
// has passed on Options.Now or revoke is called, whichever comes first. It
// is as good as the token for pushes and pulls, like an ECR login
// password, and is kept in memory only: a restarted registry forgets it.
func (r *Registry) Grant(ttl time.Duration) (token string, revoke func()) {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	token = "cfg-" + hex.EncodeToString(b)
	g := &r.grants
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.expiry == nil {
		g.expiry = map[string]time.Time{}
	}
	now := r.opts.Now()
	for t, end := range g.expiry { // forget the expired ones
		if !now.Before(end) {
			delete(g.expiry, t)
		}
	}
	g.expiry[token] = now.Add(ttl)
	return token, func() {
		g.mu.Lock()
		delete(g.expiry, token)
		g.mu.Unlock()
	}
}

// granted reports whether secret is a grant still in force at now.
func (g *grants) granted(secret string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	ok := false
	for t, end := range g.expiry {
		if subtle.ConstantTimeCompare([]byte(secret), []byte(t)) == 1 && now.Before(end) {
			ok = true
		}
	}
	return ok
}

// presented returns the secret a request carries: a basic-auth password
// (any user name) or a bearer token.
func presented(req *http.Request) (string, bool) {
	if _, pass, ok := req.BasicAuth(); ok {
		return pass, true
	}
	if bearer, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(bearer), true
	}
	return "", false
}
