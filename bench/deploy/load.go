package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// load sends GET / to addr at a fixed rate (open loop) and records, per
// answer, when it came and whether it failed.
type load struct {
	addr   string
	client *http.Client

	mu       sync.Mutex
	ok, fail int64
	sent     atomic.Int64
	total    atomic.Int64 // requests sent since the start, never reset
	// lastFail and firstFail bound the failures seen; failures with
	// "injected" in the body came from the broken release.
	firstInjected, lastInjected time.Time
	other                       int64 // failures that were not injected: dropped requests
}

func newLoad(addr string) *load {
	tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	return &load{addr: addr, client: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
}

// run sends rps requests a second until ctx is done.
func (l *load) run(ctx context.Context, rps int) {
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rps))
	defer tick.Stop()
	sem := make(chan struct{}, 256)
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			continue // saturated: skip rather than queue
		}
		wg.Add(1)
		l.sent.Add(1)
		l.total.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			l.one()
		}()
	}
}

func (l *load) one() {
	resp, err := l.client.Get("http://" + l.addr + "/")
	now := time.Now()
	if err != nil {
		l.mu.Lock()
		l.fail++
		l.other++
		l.mu.Unlock()
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	if resp.StatusCode == http.StatusOK {
		l.ok++
		return
	}
	l.fail++
	if strings.Contains(string(body), "injected") {
		if l.firstInjected.IsZero() {
			l.firstInjected = now
		}
		l.lastInjected = now
		return
	}
	l.other++
}

func (l *load) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ok, l.fail, l.other = 0, 0, 0
	l.firstInjected, l.lastInjected = time.Time{}, time.Time{}
	l.sent.Store(0)
}
