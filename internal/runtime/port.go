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

// pickPort asks the kernel for a free port that no task of this runtime
// holds. The kernel may offer a port freePort has just released again, to
// the next task started before the first one listens: both then had the
// same port and the second could not listen (a green task set of two
// came up with one task crashed, "address already in use"). The port is
// the task's until it exits (releasePort).
func (p *Process) pickPort() (int, error) {
	for range 100 {
		port, err := p.freePort()
		if err != nil {
			return 0, err
		}
		p.mu.Lock()
		taken := p.ports[port]
		if !taken {
			p.ports[port] = true
		}
		p.mu.Unlock()
		if !taken {
			return port, nil
		}
	}
	return 0, fmt.Errorf("pick a free port: the kernel offered only ports given to tasks")
}

// releasePort gives up a task's port.
func (p *Process) releasePort(port int) {
	p.mu.Lock()
	delete(p.ports, port)
	p.mu.Unlock()
}
