package pipeline

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// GitHub's published test vector for X-Hub-Signature-256.
const (
	ghSecret  = "It's a Secret to Everybody"
	ghPayload = "Hello, World!"
	ghSig     = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func TestVerifySignatureGitHubVector(t *testing.T) {
	if !VerifySignature([]byte(ghSecret), []byte(ghPayload), ghSig) {
		t.Fatal("GitHub's test vector is not accepted")
	}
	for name, sig := range map[string]string{
		"empty":       "",
		"no prefix":   strings.TrimPrefix(ghSig, "sha256="),
		"sha1 prefix": "sha1=" + strings.TrimPrefix(ghSig, "sha256="),
		"truncated":   ghSig[:len(ghSig)-2],
		"too long":    ghSig + "00",
		"wrong digit": ghSig[:len(ghSig)-1] + "0",
		"not hex":     "sha256=" + strings.Repeat("zz", 32),
		"upper case":  "SHA256=" + strings.TrimPrefix(ghSig, "sha256="),
	} {
		if VerifySignature([]byte(ghSecret), []byte(ghPayload), sig) {
			t.Errorf("%s signature %q accepted", name, sig)
		}
	}
	if VerifySignature([]byte(ghSecret), []byte(ghPayload+" "), ghSig) {
		t.Error("altered body accepted")
	}
}

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

type hookRecorder struct {
	mu   sync.Mutex
	tags []string
}

func (h *hookRecorder) add(tag string) { h.mu.Lock(); h.tags = append(h.tags, tag); h.mu.Unlock() }
func (h *hookRecorder) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.tags...)
}

func post(t *testing.T, url string, headers map[string]string, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestWebhookRejectsBeforeParsing(t *testing.T) {
	rec := &hookRecorder{}
	w, err := NewWebhook(WebhookOptions{Secret: []byte("s3cret"), MaxBody: 1024, OnTag: rec.add})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	body := `{"ref":"refs/tags/v1.2.3","deleted":false}`
	good := sign("s3cret", body)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		body    string
		code    int
	}{
		{"missing signature", map[string]string{"X-GitHub-Event": "push"}, body, 401},
		{"sha1 only", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature": "sha1=0123"}, body, 401},
		{"wrong signature", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("other", body)}, body, 401},
		{"truncated signature", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": good[:40]}, body, 401},
		{"altered body", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": good}, strings.Replace(body, "1.2.3", "6.6.6", 1), 401},
		{"oversized body", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("s3cret", strings.Repeat("x", 2048))}, strings.Repeat("x", 2048), 413},
	} {
		if resp := post(t, srv.URL, tc.headers, tc.body); resp.StatusCode != tc.code {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.code)
		}
	}
	if resp, _ := http.Get(srv.URL); resp.StatusCode != 405 {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	if got := rec.got(); len(got) != 0 {
		t.Fatalf("a rejected request had an effect: %v", got)
	}
	if _, err := NewWebhook(WebhookOptions{}); err != ErrNoSecret {
		t.Errorf("no secret: %v, want ErrNoSecret", err)
	}
}

func TestWebhookEventsAndDuplicates(t *testing.T) {
	rec := &hookRecorder{}
	w, _ := NewWebhook(WebhookOptions{Secret: []byte("s3cret"), OnTag: rec.add})
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	send := func(event, delivery, body string) int {
		return post(t, srv.URL, map[string]string{
			"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": sign("s3cret", body),
		}, body).StatusCode
	}
	if c := send("push", "d1", `{"ref":"refs/tags/v1.2.3"}`); c != 202 {
		t.Errorf("push tag: %d", c)
	}
	if c := send("push", "d1", `{"ref":"refs/tags/v1.2.3"}`); c != 200 {
		t.Errorf("duplicate delivery: %d, want 200", c)
	}
	send("create", "d2", `{"ref":"v1.3.0","ref_type":"tag"}`)
	send("create", "d3", `{"ref":"feature/x","ref_type":"branch"}`)
	send("push", "d4", `{"ref":"refs/heads/main"}`)
	send("push", "d5", `{"ref":"refs/tags/v1.2.3","deleted":true}`)
	send("push", "d6", `not json`)
	send("ping", "d7", `{"zen":"x"}`)
	send("issues", "d8", `{}`)
	got := strings.Join(rec.got(), ",")
	if got != "v1.2.3,v1.3.0" {
		t.Errorf("tags = %q, want v1.2.3,v1.3.0 (the duplicate delivery ran once)", got)
	}
}

func TestWebhookForgetsOldDeliveries(t *testing.T) {
	w, _ := NewWebhook(WebhookOptions{Secret: []byte("x"), Remember: 2})
	for _, id := range []string{"a", "b", "c"} {
		if !w.remember(id) {
			t.Fatalf("%s seen", id)
		}
	}
	if w.remember("c") || w.remember("b") {
		t.Error("recent deliveries forgotten")
	}
	if !w.remember("a") {
		t.Error("the oldest delivery was not forgotten: memory would grow without bound")
	}
}

func FuzzTagFromEvent(f *testing.F) {
	f.Add("push", []byte(`{"ref":"refs/tags/v1.2.3"}`))
	f.Add("create", []byte(`{"ref":"v1.2.3","ref_type":"tag"}`))
	f.Add("push", []byte(`{"ref":"refs/heads/main","deleted":true}`))
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		tag, why := tagFromEvent(event, body)
		if tag == "" && why == "" {
			t.Fatalf("no tag and no reason for %s %q", event, body)
		}
		if tag != "" && why != "" {
			t.Fatalf("both a tag and a reason for %s %q", event, body)
		}
	})
}
