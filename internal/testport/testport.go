// Package testport hands tests loopback ports that no other test binary
// on the machine holds. Tests that restart a daemon on the same ports
// (crash tests) pick them themselves, below the kernel's ephemeral range;
// a per-binary "given" set kept two of a binary's daemons apart, but on a
// machine where several `go test` runs go at once (CI neighbours,
// engineers sharing a host) another binary could take a port between a
// daemon's crash and its restart, and the restart failed with "address
// already in use". A port is now reserved with an flock on a file named
// after it, held until the binary exits: the kernel drops it even when
// the binary is killed, so a reservation never goes stale. Only tests
// import this package.
package testport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// Dir holds one lock file per port ever reserved. It is fixed (not
// $TMPDIR, which test runs point at directories of their own) so every
// binary sees the same locks.
const Dir = "/tmp/canaryflow-test-ports"

// The range is below Linux's ephemeral ports (32768 and up), where neither
// outgoing connections nor listeners on port 0 are given ports.
const (
	low  = 20000
	high = 32000
)

var held struct {
	sync.Mutex
	files []*os.File // kept open: closing one would drop its lock
}

// ErrNone is returned when no port could be reserved.
var ErrNone = errors.New("no free port between 20000 and 32000")

// Reserve returns a loopback port that is free now and reserved for this
// binary until it exits.
func Reserve() (int, error) {
	if err := os.MkdirAll(Dir, 0o777); err != nil {
		return 0, fmt.Errorf("reserve a port: %w", err)
	}
	for range 1000 {
		port := low + rand.IntN(high-low)
		f, err := os.OpenFile(filepath.Join(Dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			return 0, fmt.Errorf("reserve a port: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close() // held by another binary, or already by this one
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			f.Close() // in use by something that does not reserve
			continue
		}
		ln.Close()
		held.Lock()
		held.files = append(held.files, f)
		held.Unlock()
		return port, nil
	}
	return 0, ErrNone
}
