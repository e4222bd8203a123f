package pipeline

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
)

// WebhookOptions configure the GitHub webhook endpoint.
type WebhookOptions struct {
	// Secret is the webhook secret configured on GitHub; required.
	Secret []byte
	// MaxBody bounds the request body; zero means DefaultWebhookMaxBody.
	// Larger bodies are refused with 413 before their signature is even
	// checked: at most MaxBody+1 bytes are kept.
	MaxBody int64
	// DrainBody is how much more of a refused oversized body is read and
	// discarded, so that the client, still sending, reads the 413 instead
	// of a connection reset; zero means 8 times MaxBody. A longer body is
	// cut off.
	DrainBody int64
	// OnTag is called (and must not block) with the tag name of a verified
	// push or create event for a tag. The name is untrusted: the source
	// re-reads the remote and filters it.
	OnTag func(tag string)
	// Log receives what the endpoint decides; zero discards.
	Log *slog.Logger
	// Remember is how many delivery IDs are kept for deduplication; zero
	// means 10000.
	Remember int
}

// Webhook is an http.Handler for GitHub's push and create events. It
// verifies X-Hub-Signature-256 over the raw body before it parses
// anything, and runs each delivery (X-GitHub-Delivery) once.
type Webhook struct {
	opts WebhookOptions

	mu    sync.Mutex
	seen  map[string]bool
	order []string
}

// DefaultWebhookMaxBody is the largest webhook body accepted unless told
// otherwise: a push event for a tag is a few KiB.
const DefaultWebhookMaxBody = 1 << 20

// ErrNoSecret is returned by NewWebhook without a secret: an unverified
// webhook would let anyone start a deployment.
var ErrNoSecret = errors.New("webhook: a secret is required")

// NewWebhook returns the endpoint.
func NewWebhook(opts WebhookOptions) (*Webhook, error) {
	if len(opts.Secret) == 0 {
		return nil, ErrNoSecret
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = DefaultWebhookMaxBody
	}
	if opts.DrainBody == 0 {
		opts.DrainBody = 8 * opts.MaxBody
	}
	if opts.Remember == 0 {
		opts.Remember = 10000
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.OnTag == nil {
		opts.OnTag = func(string) {}
	}
	return &Webhook{opts: opts, seen: map[string]bool{}}, nil
}

// VerifySignature checks a GitHub X-Hub-Signature-256 header value
// ("sha256=" and 64 hex digits) against body, in constant time.
func VerifySignature(secret, body []byte, header string) bool {
	hexsum, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexsum) != sha256.Size*2 {
		return false
	}
	got, err := hex.DecodeString(hexsum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		http.Error(rw, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > w.opts.MaxBody {
		w.tooLarge(rw, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, w.opts.MaxBody+1))
	if err != nil {
		http.Error(rw, "cannot read body", http.StatusBadRequest)
		return
	}
	if int64(len(body)) > w.opts.MaxBody {
		w.tooLarge(rw, r)
		return
	}
	sig := r.Header.Get("X-Hub-Signature-256")
	if sig == "" {
		msg := "missing X-Hub-Signature-256"
		if r.Header.Get("X-Hub-Signature") != "" {
			msg = "X-Hub-Signature (sha1) is not accepted: configure a secret so GitHub sends X-Hub-Signature-256"
		}
		w.opts.Log.Warn("webhook refused", "reason", msg, "remote", r.RemoteAddr)
		http.Error(rw, msg, http.StatusUnauthorized)
		return
	}
	if !VerifySignature(w.opts.Secret, body, sig) {
		w.opts.Log.Warn("webhook refused", "reason", "signature does not match", "remote", r.RemoteAddr)
		http.Error(rw, "signature does not match", http.StatusUnauthorized)
		return
	}
	// Verified: from here on the body is GitHub's.
	delivery := r.Header.Get("X-GitHub-Delivery")
	if delivery != "" && !w.remember(delivery) {
		w.opts.Log.Info("webhook duplicate delivery ignored", "delivery", delivery)
		rw.WriteHeader(http.StatusOK)
		io.WriteString(rw, "duplicate delivery ignored\n")
		return
	}
	event := r.Header.Get("X-GitHub-Event")
	tag, why := tagFromEvent(event, body)
	if tag == "" {
		w.opts.Log.Info("webhook ignored", "event", event, "delivery", delivery, "reason", why)
		rw.WriteHeader(http.StatusAccepted)
		io.WriteString(rw, "ignored: "+why+"\n")
		return
	}
	w.opts.Log.Info("webhook tag", "event", event, "delivery", delivery, "tag", tag)
	w.opts.OnTag(tag)
	rw.WriteHeader(http.StatusAccepted)
	io.WriteString(rw, "accepted\n")
}

// tooLarge answers 413 to a body over MaxBody and closes the connection
// without a reset: the answer is sent first, then up to DrainBody more of
// the body is read and dropped, so a client that writes its whole body
// before it reads finds the answer rather than ECONNRESET.
func (w *Webhook) tooLarge(rw http.ResponseWriter, r *http.Request) {
	w.opts.Log.Warn("webhook refused", "reason", "body too large", "limit", w.opts.MaxBody, "remote", r.RemoteAddr)
	rc := http.NewResponseController(rw)
	// Reading the body after the answer is sent needs full duplex.
	_ = rc.EnableFullDuplex()
	rw.Header().Set("Connection", "close")
	http.Error(rw, fmt.Sprintf("body too large: the limit is %d bytes", w.opts.MaxBody), http.StatusRequestEntityTooLarge)
	_ = rc.Flush()
	_, _ = io.CopyN(io.Discard, r.Body, w.opts.DrainBody)
}

// remember records a delivery ID; false means it was seen already.
func (w *Webhook) remember(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen[id] {
		return false
	}
	w.seen[id] = true
	w.order = append(w.order, id)
	if len(w.order) > w.opts.Remember {
		delete(w.seen, w.order[0])
		w.order = w.order[1:]
	}
	return true
}

// tagFromEvent extracts the tag a push or create event is about.
func tagFromEvent(event string, body []byte) (tag, why string) {
	switch event {
	case "ping":
		return "", "ping"
	case "push":
		var p struct {
			Ref     string `json:"ref"`
			Deleted bool   `json:"deleted"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return "", "push payload is not valid JSON"
		}
		name, ok := strings.CutPrefix(p.Ref, "refs/tags/")
		if !ok {
			return "", "push of a branch, not a tag"
		}
		if p.Deleted {
			return "", "tag deleted"
		}
		return name, ""
	case "create":
		var c struct {
			Ref     string `json:"ref"`
			RefType string `json:"ref_type"`
		}
		if err := json.Unmarshal(body, &c); err != nil {
			return "", "create payload is not valid JSON"
		}
		if c.RefType != "tag" {
			return "", "created a " + c.RefType + ", not a tag"
		}
		return c.Ref, ""
	}
	return "", "event " + event + " is not push or create"
}
