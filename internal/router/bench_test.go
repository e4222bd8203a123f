package router

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
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

// BenchmarkPoolReuse measures taking an idle upstream connection from a
// target's pool and putting it back, the pool's share of every request,
// its check of the connection included.
func BenchmarkPoolReuse(b *testing.B) {
	ln := newLoopbackListener(b)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	p := newConnPool(ln.Addr().String(), time.Second, time.Minute, 4)
	defer p.closeAll()
	ctx := context.Background()
	c, err := p.get(ctx, false)
	if err != nil {
		b.Fatal(err)
	}
	if peer := <-accepted; peer != nil {
		defer peer.Close()
	}
	p.put(c)
	b.ReportAllocs()
	for b.Loop() {
		c, err := p.get(ctx, false)
		if err != nil || !c.reused {
			b.Fatalf("get: reused %v, %v", c != nil && c.reused, err)
		}
		p.put(c)
	}
}
