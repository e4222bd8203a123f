package runtime

import (
	"fmt"
	"net"
)

// freePort asks the kernel for a free 127.0.0.1 port. The port is released
// before the task binds it; another process could take it in between, which
// the task reports as a listen error (a crash), never as a silent mix-up.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
