package registry

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestGrantWorksUntilExpiryOrRevoke: a build's credential pushes and
// pulls while it is in force, and is refused once its time has passed on
// the registry's clock or once it is revoked; the token itself still works.
func TestGrantWorksUntilExpiryOrRevoke(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r, host := testRegistry(t, Options{Dir: t.TempDir(), Now: clock})
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}

	short, _ := r.Grant(time.Minute)
	push(t, host, "svc:1", img, short)
	if _, err := pull(host, "svc:1", short); err != nil {
		t.Fatalf("pull with a grant in force: %v", err)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if _, err := pull(host, "svc:1", short); err == nil {
		t.Error("an expired grant still pulls")
	}

	other, revoke := r.Grant(time.Hour)
	if _, err := pull(host, "svc:1", other); err != nil {
		t.Fatalf("pull with a second grant: %v", err)
	}
	revoke()
	if _, err := pull(host, "svc:1", other); err == nil {
		t.Error("a revoked grant still pulls")
	}
	if _, err := pull(host, "svc:1", r.Token()); err != nil {
		t.Errorf("the token after grants ended: %v", err)
	}
	if _, err := pull(host, "svc:1", ""); err == nil {
		t.Error("an empty password pulls")
	}
}
