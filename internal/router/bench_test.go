package router

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkProxy measures the whole path, client → router → upstream, on
// loopback with keep-alive: `go test -bench Proxy -benchmem ./internal/router`.
func BenchmarkProxy(b *testing.B) {
	up := newBackend(&testing.T{}, "blue", nil)
	defer up.Close()
	rt, err := New(Options{Blue: []string{up.URL}})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	srv := http.Server{Handler: rt.Handler(Production)}
	ln := newLoopbackListener(b)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
