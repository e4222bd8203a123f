package router

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// BenchmarkProxy measures the whole path, client → router → upstream, on
// loopback with keep-alive, through Serve (the fast front end unless
// -nethttp): `go test -bench Proxy -benchmem ./internal/router`.
func BenchmarkProxy(b *testing.B) {
	up := newBackend(&testing.T{}, "blue", nil)
	defer up.Close()
	rt, err := New(Options{Blue: []string{up.URL}, NetHTTPOnly: *netHTTPOnly})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	ln := newLoopbackListener(b)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- rt.Serve(ctx, ln, nil) }()
	defer func() { cancel(); <-served }()
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
