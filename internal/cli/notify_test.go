package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canaryflow/canaryflow/internal/notify"
)

func TestNotifyTestSendsASignedSample(t *testing.T) {
	t.Setenv("HOOK_KEY", "k3y")
	var got []string
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, fmt.Sprintf("%v %s", notify.Verify([]byte("k3y"), body, r.Header.Get(notify.SignatureHeader)), body))
	}))
	defer ok.Close()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) }))
	defer refusing.Close()
	dir := t.TempDir()
	write := func(targets string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "canaryflow.yaml"), []byte("notifications:\n"+targets), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf("  - {url: %s/a, secret_env: HOOK_KEY}\n  - {url: %s/b, format: slack}\n", ok.URL, ok.URL))
	if code, out := run(t, dir, "notify", "test"); code != 0 || strings.Count(out, "delivered") != 2 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], `true {"specversion":"1.0"`) || !strings.Contains(got[1], `"text":"canaryflow notify test`) {
		t.Errorf("received %q", got)
	}
	write(fmt.Sprintf("  - {url: %s/secret-path}\n", refusing.URL))
	code, out := run(t, dir, "notify", "test")
	if code != 1 || !strings.Contains(out, "410 Gone") || strings.Contains(out, "secret-path") {
		t.Errorf("a refusing target: exit %d:\n%s", code, out)
	}
	write("  - {url: ftp://x}\n")
	if code, out := run(t, dir, "notify", "test"); code != 2 || !strings.Contains(out, "notifications[0].url") {
		t.Errorf("a bad target: exit %d:\n%s", code, out)
	}
}
