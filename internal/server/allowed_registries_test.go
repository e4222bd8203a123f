package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// An image of a registry that is neither the embedded one nor listed in
// service.allowed_registries is refused by the API with 400, the key named
// (exit 2 in the CLI), and no deployment is created.
func TestDeployOfForeignImageIsRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, freePort(t), freePort(t), "  allowed_registries: [ghcr.example]\n")
	d := startDaemon(t, dir, cfg)
	t.Cleanup(d.stop)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, image := range []string{"evil.example/x:1", "ghcr.example:443/x:1", "10.0.0.7:5000/x:1"} {
		_, err := d.client.Create(ctx, CreateRequest{Image: image})
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.ExitCode() != 2 {
			t.Fatalf("deploy %s: err = %v, want a 400 API error (exit 2)", image, err)
		}
		host := image[:strings.Index(image, "/")]
		want := "image " + image + ": registry " + host + " is not in service.allowed_registries (canaryflow.yaml)"
		if !strings.Contains(ae.Msg, want) {
			t.Errorf("deploy %s: error %q does not say %q", image, ae.Msg, want)
		}
	}
	deps, err := d.client.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 0 {
		t.Fatalf("refused images left %d deployments", len(deps))
	}
}
