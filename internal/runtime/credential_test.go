package runtime

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// foreignRegistry is a registry canaryflow does not own: it asks every
// request for credentials and records the Authorization headers it gets.
type foreignRegistry struct {
	host string
	mu   sync.Mutex
	seen []string
}

// startForeignRegistry serves on 127.0.0.2 (another loopback address than
// the embedded registry's), or on another port of 127.0.0.1 where that
// address cannot be bound. scheme is "Basic" or "Bearer".
func startForeignRegistry(t *testing.T, scheme string) *foreignRegistry {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	f := &foreignRegistry{host: ln.Addr().String()}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, r.Header.Get("Authorization"))
		f.mu.Unlock()
		if scheme == "Bearer" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+f.host+`/token",service="foreign"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Basic realm="foreign"`)
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return f
}

// leaked reports whether any recorded header carries token, in the clear
// or base64 encoded.
func (f *foreignRegistry) leaked(token string) (bool, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range f.seen {
		if strings.Contains(h, token) {
			return true, f.seen
		}
		if b, ok := strings.CutPrefix(h, "Basic "); ok {
			if raw, err := base64.StdEncoding.DecodeString(b); err == nil && strings.Contains(string(raw), token) {
				return true, f.seen
			}
		}
	}
	return false, f.seen
}

func (f *foreignRegistry) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

const embeddedToken = "embedded-registry-token-0123456789"

// A pull from another registry never carries canaryflow's registry token,
// whatever challenge that registry answers with.
func TestProcessPullSendsTokenToOwnRegistryOnly(t *testing.T) {
	for _, scheme := range []string{"Basic", "Bearer"} {
		t.Run(scheme, func(t *testing.T) {
			f := startForeignRegistry(t, scheme)
			p, err := NewProcess(ProcessOptions{Dir: t.TempDir(), RegistryToken: embeddedToken, RegistryHost: "127.0.0.1:5055"})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := p.Start(ctx, TaskSpec{Image: f.host + "/evil/x:1"}); err == nil {
				t.Fatal("start from a registry that refuses every request succeeded")
			}
			if f.requests() == 0 {
				t.Fatal("the foreign registry was never asked: the test proves nothing")
			}
			if bad, seen := f.leaked(embeddedToken); bad {
				t.Fatalf("foreign registry received canaryflow's token: %q", seen)
			}
		})
	}
}

// The engine is given the token only for pulls from canaryflow's registry.
func TestDockerPullSendsTokenToOwnRegistryOnly(t *testing.T) {
	cli := dockerClient(t)
	f := startForeignRegistry(t, "Basic")
	d, err := NewDocker(DockerOptions{Client: cli, RegistryToken: embeddedToken, RegistryHost: "127.0.0.1:5055"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := d.Start(ctx, TaskSpec{Image: f.host + "/evil/x:1", Service: "foreign-pull"}); err == nil {
		t.Fatal("start from a registry that refuses every request succeeded")
	}
	if f.requests() == 0 {
		t.Skip("the engine did not reach the foreign registry on " + f.host)
	}
	if bad, seen := f.leaked(embeddedToken); bad {
		t.Fatalf("foreign registry received canaryflow's token through the engine: %q", seen)
	}
}
