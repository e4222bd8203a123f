package registry

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canaryflow/canaryflow/internal/loopback"
)

// ErrPlainHTTP is returned for a plain-HTTP request to a registry that is
// not on loopback: only loopback registries are spoken to without TLS.
var ErrPlainHTTP = errors.New("plain HTTP to a registry off loopback is refused")

// Credential is the embedded registry's token and the one registry it
// belongs to. Clients give it to that registry, Host exactly (host and
// port), and to no other: pulls and pushes elsewhere are anonymous.
type Credential struct {
	// Host is the embedded registry's host:port. Empty: the token is sent
	// nowhere.
	Host string
	// Token is the registry token. Empty: every request is anonymous.
	Token string
}

// For returns what to send to the registry at host: the token for the
// credential's own host, nothing for any other.
func (c Credential) For(host string) (user, password string, ok bool) {
	if c.Host == "" || c.Token == "" || host != c.Host {
		return "", "", false
	}
	return Username, c.Token, true
}

// Resolve makes Credential a go-containerregistry keychain.
func (c Credential) Resolve(res authn.Resource) (authn.Authenticator, error) {
	user, pass, ok := c.For(res.RegistryStr())
	if !ok {
		return authn.Anonymous, nil
	}
	return &authn.Basic{Username: user, Password: pass}, nil
}

// NameOptions are the go-containerregistry name options for a reference on
// host: plain HTTP is allowed for a loopback host only.
func NameOptions(host string) []name.Option {
	if loopback.IsHost(host) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// RemoteOptions are the go-containerregistry remote options every pull and
// push of canaryflow uses: the credential as a keychain, so it goes to its
// own registry only, and a transport that refuses plain HTTP off loopback
// (go-containerregistry itself falls back to HTTP for private addresses).
func (c Credential) RemoteOptions() []remote.Option {
	return c.remoteOptions(remote.DefaultTransport)
}

func (c Credential) remoteOptions(base http.RoundTripper) []remote.Option {
	return []remote.Option{
		remote.WithAuthFromKeychain(c),
		remote.WithTransport(LoopbackHTTPOnly(base)),
	}
}

// LoopbackHTTPOnly wraps base so that a plain-HTTP request to a host off
// loopback fails with ErrPlainHTTP before anything is dialled.
func LoopbackHTTPOnly(base http.RoundTripper) http.RoundTripper {
	return loopbackHTTPOnly{base}
}

type loopbackHTTPOnly struct{ base http.RoundTripper }

func (t loopbackHTTPOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !loopback.IsHost(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), ErrPlainHTTP)
	}
	return t.base.RoundTrip(req)
}
