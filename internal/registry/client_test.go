package registry

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestCredentialGoesToItsOwnHostOnly(t *testing.T) {
	c := Credential{Host: "127.0.0.1:5055", Token: "tok"}
	for _, tc := range []struct {
		cred Credential
		host string
		want bool
	}{
		{c, "127.0.0.1:5055", true},
		{c, "127.0.0.1:5056", false},                        // another port of the same address
		{c, "127.0.0.2:5055", false},                        // another loopback address
		{c, "localhost:5055", false},                        // the same place by another name: not an exact match
		{c, "127.0.0.1", false},                             // no port
		{c, "evil.example", false},                          // off the machine
		{Credential{Token: "tok"}, "127.0.0.1:5055", false}, // no host: sent nowhere
		{Credential{Host: "127.0.0.1:5055"}, "127.0.0.1:5055", false},
	} {
		_, pass, ok := tc.cred.For(tc.host)
		if ok != tc.want || (ok && pass != "tok") {
			t.Errorf("%+v.For(%q) = %q, %v; want sent=%v", tc.cred, tc.host, pass, ok, tc.want)
		}
		reg, err := name.NewRegistry(tc.host, name.Insecure)
		if err != nil {
			continue
		}
		a, err := tc.cred.Resolve(reg)
		if err != nil {
			t.Fatal(err)
		}
		if got := a != authn.Anonymous; got != tc.want {
			t.Errorf("keychain for %q gives credentials: %v, want %v", tc.host, got, tc.want)
		}
	}
}

// TestPlainHTTPOnlyOnLoopback checks the decision for each kind of host,
// for names and for the transport.
func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	for _, tc := range []struct {
		host string
		http bool
	}{
		{"127.0.0.1:5055", true}, {"localhost:5000", true}, {"[::1]:5000", true},
		{"10.1.2.3:5000", false}, {"192.168.0.9:5000", false}, {"registry.example:5000", false}, {"registry.local:5000", false},
	} {
		reg, err := name.NewRegistry(tc.host, NameOptions(tc.host)...)
		if err != nil {
			t.Fatal(err)
		}
		// go-containerregistry tries HTTPS first either way; "http" here
		// means it may fall back to plain HTTP. Off loopback the transport
		// must then refuse.
		if !tc.http && reg.Scheme() == "http" {
			req, _ := http.NewRequest(http.MethodGet, "http://"+tc.host+"/v2/", nil)
			if _, err := LoopbackHTTPOnly(refuseDial{}).RoundTrip(req); !errors.Is(err, ErrPlainHTTP) {
				t.Errorf("%s: plain HTTP not refused by the transport: %v", tc.host, err)
			}
		}
		if tc.http && reg.Scheme() != "http" {
			t.Errorf("%s: loopback registry is not spoken to over plain HTTP", tc.host)
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+tc.host+"/v2/", nil)
		_, err = LoopbackHTTPOnly(refuseDial{}).RoundTrip(req)
		if refused := errors.Is(err, ErrPlainHTTP); refused == tc.http {
			t.Errorf("%s: plain HTTP refused = %v, want %v", tc.host, refused, !tc.http)
		}
	}
}

// TestPullOffLoopbackNeverDialsPlainHTTP runs a real pull with the options
// canaryflow's clients use, against hosts off loopback (a private address,
// which go-containerregistry would otherwise try over HTTP, and a name).
// The transport under the guard records what would be dialled and dials
// nothing.
func TestPullOffLoopbackNeverDialsPlainHTTP(t *testing.T) {
	for _, host := range []string{"10.1.2.3:5000", "registry.example:5000"} {
		rec := &recordingTransport{}
		cred := Credential{Host: "127.0.0.1:5055", Token: "tok"}
		ref, err := name.ParseReference(host+"/app:1", NameOptions(host)...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := remote.Image(ref, cred.remoteOptions(rec)...); err == nil {
			t.Fatalf("%s: pull succeeded through a transport that dials nothing", host)
		}
		for _, u := range rec.urls() {
			if !strings.HasPrefix(u, "https://") {
				t.Errorf("%s: plain-HTTP request reached the dialer: %s", host, u)
			}
		}
		if len(rec.urls()) == 0 {
			t.Errorf("%s: no HTTPS attempt either: the test proves nothing", host)
		}
	}
}

// refuseDial is a transport that dials nothing.
type refuseDial struct{}

func (refuseDial) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("not dialled in tests")
}

// recordingTransport records each request's URL and dials nothing.
type recordingTransport struct {
	mu   sync.Mutex
	seen []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req.URL.String())
	r.mu.Unlock()
	return nil, errors.New("not dialled in tests")
}

func (r *recordingTransport) urls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}
