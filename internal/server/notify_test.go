package server

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/notify"
)

// A receiver that never answers holds the notifier, not the deployment:
// the deployment ends while its notifications are still held.
func TestSlowNotificationReceiverDoesNotDelayTheDeployment(t *testing.T) {
	var held atomic.Int32
	var signed atomic.Bool
	quit := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if notify.Verify([]byte("k3y"), body, r.Header.Get(notify.SignatureHeader)) {
			signed.Store(true)
		}
		held.Add(1)
		select {
		case <-r.Context().Done():
		case <-quit:
		}
	}))
	t.Cleanup(func() { close(quit); slow.Close() })
	t.Setenv("CANARYFLOW_NOTIFY_SECRET", "k3y")
	e := newE2E(t, fmt.Sprintf("  deployment_config: CodeDeployDefault.ECSAllAtOnce\n  termination_wait: 1m\nnotifications:\n  - url: %s/hook\n", slow.URL))
	d := e.create("1.0.0", "", nil)
	v := e.drive(d.ID, nil)
	if v.Deployment.Status != deploy.StatusSucceeded {
		t.Fatalf("deployment ended %s", v.Deployment.Status)
	}
	if held.Load() == 0 {
		e.wait(d.ID, "a notification held by the receiver", func(*DeploymentView) bool { return held.Load() > 0 })
	}
	if !signed.Load() {
		t.Error("the held notification's signature does not verify")
	}
}
