package router

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
)

// Loop detection. Every request the router forwards carries a Via entry
// (RFC 9110 section 7.6.3) naming this router by a name drawn at random
// when it is created; a request that arrives with that name in its Via
// header has been through this router already, so it is answered 508 Loop
// Detected at once instead of being forwarded round the loop again. Two
// proxies pointed at each other, or a target name that resolves back to
// the proxy, then cost one request each way instead of every socket and
// all memory.

// viaName returns a new random pseudonym for a router's Via entries.
func viaName() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return "canaryflow-" + hex.EncodeToString(b[:])
}

// looped reports whether one of the Via values names this router.
func (rt *Router) looped(via []string) bool {
	for _, v := range via {
		if strings.Contains(v, rt.viaName) {
			return true
		}
	}
	return false
}

// refuseLoop answers 508 to a request that came back to this router.
func (rt *Router) refuseLoop(w http.ResponseWriter, r *http.Request) {
	rt.log.Warn("proxy request", "status", http.StatusLoopDetected, "method", r.Method, "path", r.URL.Path,
		"err", "request came back to this proxy: a target leads back to it")
	writeError(w, http.StatusLoopDetected, "canaryflow: loop detected: this request has already passed through this proxy (Via "+rt.viaName+")")
}
