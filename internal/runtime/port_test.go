package runtime

import (
	"context"
	"sync"
	"testing"
)

// TestProcessTasksNeverShareAPort starts two tasks back to back while the
// kernel offers the same free port twice, as it may for a port just
// released: the second task gets another port, and both serve.
// (TestE2EFailingHookAtEachHook stalled at Install so: one of green's two
// tasks crashed with "address already in use".)
func TestProcessTasksNeverShareAPort(t *testing.T) {
	img := helloImage(t)
	dir := processDir(t)
	p, err := NewProcess(ProcessOptions{Dir: dir, RegistryToken: img.token, RegistryHost: img.host})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background(), 0) })
	first, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	second, err := freePort()
	if err != nil || second == first {
		t.Skipf("the kernel gave %d twice here (%v): no second port to offer", first, err)
	}
	var mu sync.Mutex
	offers := []int{first, first, second}
	p.freePort = func() (int, error) {
		mu.Lock()
		defer mu.Unlock()
		port := offers[0]
		if len(offers) > 1 {
			offers = offers[1:]
		}
		return port, nil
	}
	ctx := context.Background()
	a, err := p.Start(ctx, TaskSpec{Image: img.ref, Service: uniqueService(t)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Start(ctx, TaskSpec{Image: img.ref, Service: uniqueService(t)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Addr == b.Addr {
		t.Fatalf("two tasks were given %s", a.Addr)
	}
	getBody(t, a.Addr, "/healthz")
	getBody(t, b.Addr, "/healthz")
}
