package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"sync"
	"time"
)

// CookieName is the session cookie's name.
const CookieName = "canaryflow_session"

// CSRFHeader carries the session's CSRF token on every action.
const CSRFHeader = "X-CSRF-Token"

// Limits of the sign-in state, all in memory: a daemon restart signs
// every browser out.
const (
	codeLife    = 2 * time.Minute
	sessionLife = 12 * time.Hour
	maxCodes    = 16
	maxSessions = 64
)

// auth holds the one-time login codes and the signed-in sessions. Codes
// and session IDs are kept by their SHA-256 only, so a memory dump or a
// log line holds nothing a browser could sign in with.
type auth struct {
	now func() time.Time

	mu       sync.Mutex
	codes    map[[32]byte]time.Time // code → expiry
	sessions map[[32]byte]*session  // session ID → session
}

type session struct {
	csrf    string
	expires time.Time
}

func newAuth(now func() time.Time) *auth {
	if now == nil {
		now = time.Now
	}
	return &auth{now: now, codes: map[[32]byte]time.Time{}, sessions: map[[32]byte]*session{}}
}

func secret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on the platforms Go supports
	return hex.EncodeToString(b)
}

func sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// newCode returns a login code good for one sign-in within codeLife.
func (a *auth) newCode() string {
	code := secret()
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for k, exp := range a.codes {
		if !now.Before(exp) || len(a.codes) >= maxCodes {
			delete(a.codes, k)
		}
	}
	a.codes[sum(code)] = now.Add(codeLife)
	return code
}

// signIn spends code and returns a new session's ID, or false when the
// code is unknown, spent or expired.
func (a *auth) signIn(code string) (id string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := sum(code)
	exp, found := a.codes[key]
	delete(a.codes, key)
	now := a.now()
	if !found || !now.Before(exp) {
		return "", false
	}
	if len(a.sessions) >= maxSessions {
		var oldest [32]byte
		var first time.Time
		for k, s := range a.sessions {
			if first.IsZero() || s.expires.Before(first) {
				oldest, first = k, s.expires
			}
		}
		delete(a.sessions, oldest)
	}
	id = secret()
	a.sessions[sum(id)] = &session{csrf: secret(), expires: now.Add(sessionLife)}
	return id, true
}

// lookup returns the session of r's cookie.
func (a *auth) lookup(r *http.Request) (*session, [32]byte, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil, [32]byte{}, false
	}
	key := sum(c.Value)
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[key]
	if ok && !a.now().Before(s.expires) {
		delete(a.sessions, key)
		return nil, key, false
	}
	return s, key, ok
}

// Session is the guard's httpguard.Options.Session: whether r is signed
// in, and whether it carries its session's CSRF token.
func (a *auth) Session(r *http.Request) (signedIn, csrf bool) {
	s, _, ok := a.lookup(r)
	if !ok {
		return false, false
	}
	got := r.Header.Get(CSRFHeader)
	return true, got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// signOut ends r's session.
func (a *auth) signOut(r *http.Request) {
	if _, key, ok := a.lookup(r); ok {
		a.mu.Lock()
		delete(a.sessions, key)
		a.mu.Unlock()
	}
}
