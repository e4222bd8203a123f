package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// loadGen is the demo's built-in load generator: a steady request rate on
// the production listener, tallied by the X-Version header of each answer.
type loadGen struct {
	url    string
	rps    int
	client *http.Client

	mu     sync.Mutex
	recent []hit // the last second
	firsts map[string]time.Time
	fault  map[string]time.Time // first 5xx per version
	last   map[string]time.Time // last answer per version
	total  map[string]*tally
}

type hit struct {
	at      time.Time
	version string
	failed  bool
}

type tally struct{ requests, errors int }

func newLoadGen(url string, rps int) *loadGen {
	tr := &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}
	return &loadGen{
		url: url, rps: rps, client: &http.Client{Transport: tr, Timeout: 5 * time.Second},
		firsts: map[string]time.Time{}, fault: map[string]time.Time{}, last: map[string]time.Time{}, total: map[string]*tally{},
	}
}

// run sends requests until ctx is done, from a few workers sharing a pace.
func (l *loadGen) run(ctx context.Context) {
	const workers = 8
	interval := time.Second / time.Duration(l.rps)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	jobs := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				l.once(ctx)
			}
		}()
	}
	defer func() { close(jobs); wg.Wait() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			select {
			case jobs <- struct{}{}:
			default: // all workers busy: skip rather than pile up
			}
		}
	}
}

func (l *loadGen) once(ctx context.Context) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.url, nil)
	resp, err := l.client.Do(req)
	now := time.Now()
	h := hit{at: now, version: "?", failed: true}
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if v := resp.Header.Get("X-Version"); v != "" {
			h.version = v
		}
		h.failed = resp.StatusCode >= 500
	} else if ctx.Err() != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recent = append(l.recent, h)
	if _, ok := l.firsts[h.version]; !ok {
		l.firsts[h.version] = now
	}
	if h.failed {
		if _, ok := l.fault[h.version]; !ok {
			l.fault[h.version] = now
		}
	}
	l.last[h.version] = now
	t := l.total[h.version]
	if t == nil {
		t = &tally{}
		l.total[h.version] = t
	}
	t.requests++
	if h.failed {
		t.errors++
	}
}

// firstSeen is when a version first answered (zero if never).
func (l *loadGen) firstSeen(version string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.firsts[version]
}

// firstFault is when a version first answered 5xx (zero if never).
func (l *loadGen) firstFault(version string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fault[version]
}

// lastSeen is when a version last answered (zero if never).
func (l *loadGen) lastSeen(version string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last[version]
}

// window summarises the last second: share and error rate per version.
func (l *loadGen) window() (line string, rps int, errPct float64) {
	l.mu.Lock()
	cut := time.Now().Add(-time.Second)
	i := sort.Search(len(l.recent), func(i int) bool { return l.recent[i].at.After(cut) })
	l.recent = l.recent[i:]
	hits := append([]hit(nil), l.recent...)
	l.mu.Unlock()
	if len(hits) == 0 {
		return "no answers yet", 0, 0
	}
	count := map[string]int{}
	errs := 0
	for _, h := range hits {
		count[h.version]++
		if h.failed {
			errs++
		}
	}
	versions := make([]string, 0, len(count))
	for v := range count {
		versions = append(versions, v)
	}
	sort.Strings(versions)
	var parts []string
	for _, v := range versions {
		parts = append(parts, fmt.Sprintf("%s %5.1f%%", v, 100*float64(count[v])/float64(len(hits))))
	}
	errPct = 100 * float64(errs) / float64(len(hits))
	return strings.Join(parts, "  "), len(hits), errPct
}

// totals is the whole run's requests and errors per version.
func (l *loadGen) totals() map[string]tally {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]tally{}
	for v, t := range l.total {
		out[v] = *t
	}
	return out
}
