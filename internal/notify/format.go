package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Formats.
const (
	FormatJSON  = "json"
	FormatSlack = "slack"
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body,
// keyed with the target's secret (json targets).
const SignatureHeader = "X-Canaryflow-Signature"

// Target is one receiver.
type Target struct {
	URL    string
	Format string   // FormatJSON or FormatSlack
	Events []string // the kinds it wants
	// Secret signs a json target's bodies; nil sends them unsigned.
	Secret []byte
}

func (t Target) wants(kind string) bool {
	for _, e := range t.Events {
		if e == kind {
			return true
		}
	}
	return false
}

// Host is the target's scheme and host, what logs and errors show: the
// rest of a webhook URL is often its secret.
func (t Target) Host() string {
	u, err := url.Parse(t.URL)
	if err != nil {
		return "(bad URL)"
	}
	return u.Scheme + "://" + u.Host
}

// cloudEvent is the json format: the attributes of a CloudEvents 1.0
// event in its structured JSON mode.
type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject,omitempty"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Text            string          `json:"text"`
	Data            json.RawMessage `json:"data"`
}

// Body renders m in format, with its content type.
func Body(format string, m Message) ([]byte, string, error) {
	switch format {
	case FormatSlack:
		b, err := json.Marshal(map[string]string{"text": m.Text})
		return b, "application/json", err
	case FormatJSON, "":
		source := "canaryflow"
		if m.Service != "" {
			source += "/" + m.Service
		}
		b, err := json.Marshal(cloudEvent{SpecVersion: "1.0", ID: m.ID, Source: source, Type: "dev.canaryflow." + m.Kind,
			Subject: m.Subject, Time: m.Time, DataContentType: "application/json", Text: m.Text, Data: m.Data})
		return b, "application/cloudevents+json", err
	}
	return nil, "", fmt.Errorf("notification format %q: want json or slack", format)
}

// Sign is the SignatureHeader value of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether header is body's signature under secret, in
// constant time: what a receiver does.
func Verify(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(header), []byte(Sign(secret, body)))
}

// ErrRefused is a receiver's answer other than 2xx.
var ErrRefused = errors.New("receiver refused the notification")

// send posts one rendered body to t within timeout.
func send(ctx context.Context, hc *http.Client, t Target, id string, body []byte, contentType string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify %s: %w", t.Host(), err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "canaryflow-notify")
	req.Header.Set("X-Canaryflow-Delivery", id)
	if t.Format != FormatSlack && len(t.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(t.Secret, body))
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold the target's secret
		}
		return fmt.Errorf("notify %s: %w", t.Host(), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("notify %s: %w: %s", t.Host(), ErrRefused, resp.Status)
	}
	return nil
}

// Test sends a sample notification to t now, once, for `canaryflow
// notify test`.
func Test(ctx context.Context, t Target, now time.Time) error {
	m := Message{ID: fmt.Sprintf("test-%d", now.UnixNano()), Kind: "test", Subject: "test", Time: now.UTC(),
		Text: "canaryflow notify test: this target receives canaryflow's notifications", Data: json.RawMessage(`{}`)}
	body, ct, err := Body(t.Format, m)
	if err != nil {
		return err
	}
	return send(ctx, &http.Client{}, t, m.ID, body, ct, 10*time.Second)
}
