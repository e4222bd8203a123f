package router

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPinHeaderOffByDefaultAndNeverForwarded checks that without a pin
// header configured, X-Canaryflow-Target moves no request, and that the
// pin header never reaches a backend, pinned or not, on the fast path and
// on the net/http path (a chunked body).
func TestPinHeaderOffByDefaultAndNeverForwarded(t *testing.T) {
	const secret = "0123456789abcdef"
	leaked := make(chan string, 16)
	echo := func(w http.ResponseWriter, r *http.Request) {
		for k, v := range r.Header {
			if strings.EqualFold(k, "X-Canaryflow-Target") || strings.EqualFold(k, "X-Pin") {
				leaked <- k + ": " + strings.Join(v, ",")
			}
		}
	}
	blue, green := newBackend(t, "blue", echo), newBackend(t, "green", echo)
	_, plain := newTestRouter(t, Options{Blue: []string{blue.URL}, Green: []string{green.URL}})
	_, pinning := newTestRouter(t, Options{Blue: []string{blue.URL}, Green: []string{green.URL}, PinHeader: "X-Pin", PinSecret: secret})
	for _, tc := range []struct {
		url, name, value, want string
	}{
		{plain.URL, "X-Canaryflow-Target", "green", "blue"},
		{plain.URL, "X-Canaryflow-Target", "green:" + secret, "blue"},
		{pinning.URL, "X-Pin", "green:" + secret, "green"},
		{pinning.URL, "X-Pin", "green:guess", "blue"},
	} {
		for _, chunked := range []bool{false, true} {
			req, _ := http.NewRequest(http.MethodPost, tc.url+"/", nil)
			if chunked {
				req.Body = io.NopCloser(strings.NewReader("body"))
				req.ContentLength = -1
			}
			req.Header.Set(tc.name, tc.value)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if who := resp.Header.Get("X-Backend"); who != tc.want {
				t.Errorf("%s: %s (chunked %t) went to %s, want %s", tc.name, tc.value, chunked, who, tc.want)
			}
			select {
			case h := <-leaked:
				t.Errorf("%s: %s (chunked %t): the backend received %s", tc.name, tc.value, chunked, h)
			default:
			}
		}
	}
}
