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
//	loadgen -url http://127.0.0.1:8080/ -rate 1000 -c 10 -d 10s
//	loadgen -url http://127.0.0.1:8080/ -n 100000 -c 7
//
// It prints one line of key=value pairs.
package main

import (
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

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/", "URL to GET")
	rate := flag.Int("rate", 0, "requests per second in total (0: as fast as possible)")
	conns := flag.Int("c", 10, "keep-alive connections (one worker each)")
	dur := flag.Duration("d", 10*time.Second, "duration (with -rate)")
	n := flag.Int("n", 0, "exact number of requests (instead of -d)")
	flag.Parse()

	var (
		mu        sync.Mutex
		latencies []time.Duration
		backends  = map[string]int{}
		codes     = map[int]int{}
		errs      atomic.Int64
		errSample atomic.Value
		issued    atomic.Int64
	)
	start := time.Now()
	end := start.Add(*dur)
	var wg sync.WaitGroup
	for w := range *conns {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
			var interval time.Duration
			next := start
			if *rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(*conns) / float64(*rate))
				next = start.Add(interval * time.Duration(w) / time.Duration(*conns))
			}
			local := make([]time.Duration, 0, 1<<14)
			localB := map[string]int{}
			localC := map[int]int{}
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
				resp, err := client.Get(*url)
				if err != nil {
					errs.Add(1)
					errSample.Store(err.Error())
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					localC[resp.StatusCode]++
					localB[resp.Header.Get("X-Backend")]++
				}
				local = append(local, time.Since(from))
				next = next.Add(interval)
			}
			mu.Lock()
			latencies = append(latencies, local...)
			for k, v := range localB {
				backends[k] += v
			}
			for k, v := range localC {
				codes[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	q := func(p float64) int64 {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()
	}
	non2xx := 0
	var codeList []string
	for c, k := range codes {
		if c/100 != 2 {
			non2xx += k
		}
		codeList = append(codeList, fmt.Sprintf("%d:%d", c, k))
	}
	sort.Strings(codeList)
	total := len(latencies)
	green := backends["green"]
	fmt.Printf("requests=%d rps=%.0f p50_us=%d p99_us=%d max_us=%d errors=%d non2xx=%d codes=%s green=%d blue=%d green_pct=%.4f p95_us=%d p999_us=%d\n",
		total, float64(total)/elapsed.Seconds(), q(0.50), q(0.99), q(1), errs.Load(), non2xx,
		strings.Join(codeList, ","), green, total-green-int(errs.Load()), 100*float64(green)/float64(max(total, 1)), q(0.95), q(0.999))
	if s, ok := errSample.Load().(string); ok {
		fmt.Fprintln(os.Stderr, "sample error:", s)
	}
}
