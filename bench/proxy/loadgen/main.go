// Command loadgen is the proxy benchmark's client for what wrk does not
// measure: latency at a fixed request rate (open loop), and the observed
// split over an exact number of requests, read from the X-Backend header.
//
// A request's latency is timed from its scheduled start when the worker is
// late for it (the previous answer on its connection came late, so a stall
// is not hidden), and from the moment the worker wakes when it slept until
// then. Go's timers wake up to a millisecond late on Linux (the netpoller
// waits in whole milliseconds); that error is the load generator's, not the
// server's, and would otherwise be most of what is measured.
//
// Given several URLs, it takes turns between them in short slices (-slice)
// at the same rate, each over its own keep-alive connections, and prints
// each one's percentiles over all its slices. On a shared machine whose
// neighbours come and go by the second, every URL then meets the same
// neighbours: comparing servers measured one after the other, in rounds of
// seconds, compares the neighbours as much as the servers.
//
//	loadgen -url http://127.0.0.1:8080/ -rate 1000 -c 10 -d 10s
//	loadgen -url http://127.0.0.1:8080/ -url http://127.0.0.1:8081/ -rate 1000 -d 30s -slice 200ms
//	loadgen -url http://127.0.0.1:8080/ -n 100000 -c 7
//
// It prints one line of key=value pairs per URL.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// stats is what one URL's requests came to.
type stats struct {
	mu        sync.Mutex
	latencies []time.Duration
	backends  map[string]int
	codes     map[int]int
	errs      atomic.Int64
	errSample atomic.Value
}

func (s *stats) merge(lat []time.Duration, b map[string]int, c map[int]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latencies = append(s.latencies, lat...)
	for k, v := range b {
		s.backends[k] += v
	}
	for k, v := range c {
		s.codes[k] += v
	}
}

func main() {
	var urls []string
	flag.Func("url", "URL to GET (repeat it to take turns between several; default http://127.0.0.1:8080/)", func(s string) error {
		if !strings.HasPrefix(s, "http://") {
			return errors.New("want an http:// URL")
		}
		urls = append(urls, s)
		return nil
	})
	rate := flag.Int("rate", 0, "requests per second in total (0: as fast as possible)")
	conns := flag.Int("c", 10, "keep-alive connections per URL (one worker each)")
	dur := flag.Duration("d", 10*time.Second, "duration per URL (with -rate)")
	slice := flag.Duration("slice", 250*time.Millisecond, "with several URLs, how long each turn lasts")
	n := flag.Int("n", 0, "exact number of requests (instead of -d; one URL)")
	flag.Parse()
	if len(urls) == 0 {
		urls = []string{"http://127.0.0.1:8080/"}
	}
	if *n > 0 && len(urls) > 1 {
		fmt.Fprintln(os.Stderr, "loadgen: -n takes one -url")
		os.Exit(2)
	}
	if len(urls) > 1 && *slice <= 0 {
		fmt.Fprintln(os.Stderr, "loadgen: -slice must be positive")
		os.Exit(2)
	}

	all := make([]*stats, len(urls))
	for i := range all {
		all[i] = &stats{backends: map[string]int{}, codes: map[int]int{}}
	}
	// turn says whose turn it is at t.
	turn := func(t time.Duration) int {
		if len(urls) == 1 {
			return 0
		}
		return int(t/(*slice)) % len(urls)
	}
	var issued atomic.Int64
	start := time.Now()
	end := start.Add(*dur * time.Duration(len(urls)))
	var wg sync.WaitGroup
	for w := range *conns {
		wg.Go(func() {
			clients := make([]*http.Client, len(urls))
			for i := range clients {
				clients[i] = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
			}
			var interval time.Duration
			next := start
			if *rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(*conns) / float64(*rate))
				next = start.Add(interval * time.Duration(w) / time.Duration(*conns))
			}
			local := make([][]time.Duration, len(urls))
			localB := make([]map[string]int, len(urls))
			localC := make([]map[int]int, len(urls))
			for i := range urls {
				local[i] = make([]time.Duration, 0, 1<<14)
				localB[i], localC[i] = map[string]int{}, map[int]int{}
			}
			for {
				if *n > 0 {
					if issued.Add(1) > int64(*n) {
						break
					}
				} else if !next.Before(end) && *rate > 0 || *rate == 0 && time.Now().After(end) {
					break
				}
				from := next
				if *rate > 0 {
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
						from = time.Now()
					}
				} else {
					next = time.Now()
					from = next
				}
				u := turn(next.Sub(start))
				resp, err := clients[u].Get(urls[u])
				if err != nil {
					all[u].errs.Add(1)
					all[u].errSample.Store(err.Error())
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					localC[u][resp.StatusCode]++
					localB[u][resp.Header.Get("X-Backend")]++
				}
				local[u] = append(local[u], time.Since(from))
				next = next.Add(interval)
			}
			for i := range urls {
				all[i].merge(local[i], localB[i], localC[i])
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start) / time.Duration(len(urls))
	for i, s := range all {
		report(urls[i], s, elapsed, len(urls) > 1)
	}
}

func report(url string, s *stats, elapsed time.Duration, named bool) {
	latencies := s.latencies
	slices.Sort(latencies)
	q := func(p float64) int64 {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()
	}
	non2xx := 0
	var codeList []string
	for c, k := range s.codes {
		if c/100 != 2 {
			non2xx += k
		}
		codeList = append(codeList, fmt.Sprintf("%d:%d", c, k))
	}
	sort.Strings(codeList)
	total := len(latencies)
	green := s.backends["green"]
	errs := int(s.errs.Load())
	prefix := ""
	if named {
		prefix = "url=" + url + " "
	}
	fmt.Printf("%srequests=%d rps=%.0f p50_us=%d p99_us=%d max_us=%d errors=%d non2xx=%d codes=%s green=%d blue=%d green_pct=%.4f p95_us=%d p999_us=%d\n",
		prefix, total, float64(total)/elapsed.Seconds(), q(0.50), q(0.99), q(1), errs, non2xx,
		strings.Join(codeList, ","), green, total-green-errs, 100*float64(green)/float64(max(total, 1)), q(0.95), q(0.999))
	if e, ok := s.errSample.Load().(string); ok {
		fmt.Fprintln(os.Stderr, "sample error:", url, e)
	}
}
