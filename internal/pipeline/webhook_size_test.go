package pipeline

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestWebhookDefaultLimit: with no MaxBody, a body of one byte over 1 MiB
// is refused with 413 before its signature is checked, whether or not it
// declares its length; 1 MiB exactly is read and verified.
func TestWebhookDefaultLimit(t *testing.T) {
	rec := &hookRecorder{}
	w, err := NewWebhook(WebhookOptions{Secret: []byte("s3cret"), OnTag: rec.add})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	over := `{"ref":"refs/tags/v1.0.0","pad":"` + strings.Repeat("x", DefaultWebhookMaxBody) + `"}`
	send := func(body string, declareLength bool) *http.Response {
		var r io.Reader = strings.NewReader(body)
		if !declareLength {
			r = io.MultiReader(r) // hides the length: sent chunked
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL, r)
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", sign("s3cret", body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("post %d bytes: %v", len(body), err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for _, declare := range []bool{true, false} {
		if resp := send(over, declare); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%d bytes (length declared: %v): status %d, want 413", len(over), declare, resp.StatusCode)
		}
	}
	atLimit := `{"ref":"refs/tags/v1.0.0","pad":"` + strings.Repeat("x", DefaultWebhookMaxBody-len(`{"ref":"refs/tags/v1.0.0","pad":""}`)) + `"}`
	if len(atLimit) != DefaultWebhookMaxBody {
		t.Fatalf("test body is %d bytes", len(atLimit))
	}
	if resp := send(atLimit, false); resp.StatusCode != http.StatusAccepted {
		t.Errorf("%d bytes: status %d, want 202", len(atLimit), resp.StatusCode)
	}
	if got := rec.got(); len(got) != 1 || got[0] != "v1.0.0" {
		t.Errorf("tags %v, want only v1.0.0 from the body at the limit", got)
	}
}

// TestWebhookOversizedNoReset: a client that writes its whole oversized
// body before it reads (as simple clients do) gets the 413 answer, and
// none of its writes fails with a reset or a broken pipe.
func TestWebhookOversizedNoReset(t *testing.T) {
	w, err := NewWebhook(WebhookOptions{Secret: []byte("s3cret")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	for _, size := range []int{DefaultWebhookMaxBody + 1, 6 << 20} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
			t.Fatal(err)
		}
		head := fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: %s\r\nContent-Length: %d\r\n\r\n",
			sign("s3cret", ""), size)
		if _, err := conn.Write(append([]byte(head), bytes.Repeat([]byte("x"), size)...)); err != nil {
			t.Errorf("%d bytes: writing the body: %v", size, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%d bytes: reading the answer: %v", size, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "the limit is 1048576 bytes") {
			t.Errorf("%d bytes: %d %q, want 413 naming the limit", size, resp.StatusCode, body)
		}
	}
}
