package runtime

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/canaryflow/canaryflow/internal/build"
	"github.com/canaryflow/canaryflow/internal/leakcheck"
	"github.com/canaryflow/canaryflow/internal/registry"
)

const helloVersion = "1.4.2"

// testImage is examples/hello built by canaryflow's Go builder and pushed to
// a registry serving on loopback for the whole test binary.
type testImage struct {
	ref   string // host/hello:v1.4.2@sha256:…
	token string
	host  string // the registry's host:port, which the token is for
}

var (
	imageOnce sync.Once
	imageVal  testImage
	imageErr  error
)

// helloImage builds and pushes examples/hello once per test binary. The
// registry keeps serving until the binary exits. The repository carries
// the run's ID, so the images an engine pulls from it are the run's.
func helloImage(t *testing.T) testImage {
	t.Helper()
	imageOnce.Do(func() {
		dir, err := tempDirNoCleanup()
		if err != nil {
			imageErr = err
			return
		}
		reg, err := registry.New(registry.Options{Dir: dir})
		if err != nil {
			imageErr = err
			return
		}
		ln, err := registry.Listen("")
		if err != nil {
			imageErr = err
			return
		}
		go reg.Serve(context.Background(), ln)
		img, err := build.GoImage(context.Background(), build.GoImageOptions{Dir: "../../examples/hello", Version: helloVersion})
		if err != nil {
			imageErr = err
			return
		}
		ref, err := build.Push(context.Background(), img, build.Target{
			Registry: ln.Addr().String(), Repository: leakcheck.Repo("hello"), Tag: "v" + helloVersion, Token: reg.Token(),
		})
		imageVal, imageErr = testImage{ref: ref.String(), token: reg.Token(), host: ln.Addr().String()}, err
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return imageVal
}

// getBody polls GET http://addr/path until it answers 200, for at most a
// generous minute, and returns the body.
func getBody(t *testing.T, addr, path string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	cl := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := cl.Get("http://" + addr + path)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s%s never answered 200: %v", addr, path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor polls cond for at most a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readLogs(t *testing.T, rt Runtime, id string) string {
	t.Helper()
	rc, err := rt.Logs(context.Background(), id, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

// drainCheck proves that SIGTERM lets a request in flight finish. hello's
// handlers are instant, so the test keeps one in flight from the client
// side: it sends the headers of a GET with a 10-byte body but only half the
// body. hello answers only after it has read (and discarded) the whole body,
// so the request stays in flight until the test sends the rest. A second
// connection's full round trip shows the server accepted the first (one
// accept loop, first come first served). Then the task is stopped: once
// hello logs that it is shutting down it must still run, and after the rest
// of the body arrives the answer must come, complete, before it exits 0.
func drainCheck(t *testing.T, rt Runtime, task Task) {
	t.Helper()
	conn, err := net.Dial("tcp", task.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n01234"); err != nil {
		t.Fatal(err)
	}
	// net/http drops a request it reads only after its shutdown began, so
	// the stop must come after the server has read this one.
	if !waitRead(t, task.PID, conn) {
		// Behind a port proxy (docker) the server's socket is not in the
		// task's network namespace under these addresses: a request
		// answered on a new connection at least shows that this one was
		// accepted first.
		probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := probe.Get("http://" + task.Addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	stopErr := make(chan error, 1)
	go func() { stopErr <- rt.Stop(context.Background(), task.ID, time.Minute) }()
	waitFor(t, "shutdown log line", func() bool { return strings.Contains(readLogs(t, rt, task.ID), "shutting down") })
	select {
	case err := <-stopErr:
		st, _ := rt.Status(context.Background(), task.ID)
		t.Fatalf("task stopped (%v) while a request was in flight: %+v\n%s", err, st, readLogs(t, rt, task.ID))
	default:
	}
	if _, err := io.WriteString(conn, "56789"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request was not answered during shutdown: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "Version: "+helloVersion+"\n" {
		t.Fatalf("in-flight answer = %q, %v", body, err)
	}
	if err := <-stopErr; err != nil {
		t.Fatal(err)
	}
	st, err := rt.Status(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateExited || st.ExitCode != 0 {
		t.Fatalf("after graceful stop: %+v", st)
	}
}

// waitRead waits until the server end of conn, a socket of the network
// namespace of pid, has read every byte sent on it. It reports false when
// that namespace has no socket with conn's addresses.
func waitRead(t *testing.T, pid int, conn net.Conn) bool {
	t.Helper()
	client, server := conn.LocalAddr().(*net.TCPAddr), conn.RemoteAddr().(*net.TCPAddr)
	want := procTCPAddr(server) + " " + procTCPAddr(client)
	deadline := time.Now().Add(time.Minute)
	for {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", pid))
		if err != nil {
			return false
		}
		found := false
		for _, line := range strings.Split(string(data), "\n") {
			// sl local_address rem_address st tx_queue:rx_queue ...
			f := strings.Fields(line)
			if len(f) < 5 || f[1]+" "+f[2] != want {
				continue
			}
			found = true
			if _, rx, _ := strings.Cut(f[4], ":"); strings.Trim(rx, "0") == "" {
				return true
			}
		}
		if !found {
			return false
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never read the request on %s", client)
		}
		time.Sleep(time.Millisecond)
	}
}

// procTCPAddr writes an IPv4 address as /proc/net/tcp does (x86: the
// address's bytes reversed, then the port, in hex).
func procTCPAddr(a *net.TCPAddr) string {
	ip := a.IP.To4()
	if ip == nil {
		return ""
	}
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], a.Port)
}

// processDir returns a state directory for a process runtime whose tasks
// are killed when the test ends, even if the runtime was never closed.
func processDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() {
		for _, p := range leakcheck.KillUnder(dir) {
			t.Errorf("a task outlived its test: %s", p)
		}
	})
	return dir
}

// dockerClient returns a client for this machine's engine; a missing engine
// fails the test: the engine is part of this machine and of CI.
func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		t.Fatalf("docker engine does not answer (required by this test): %v", err)
	}
	return cli
}

// cleanupContainers removes every container labelled with service, and the
// image ref, when the test ends.
func cleanupContainers(t *testing.T, cli *client.Client, service, ref string) {
	t.Cleanup(func() {
		ctx := context.Background()
		cs, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelService+"="+service))})
		for _, c := range cs {
			cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		}
		if p, err := registry.ParseRef(ref); err == nil {
			p.Tag = ""
			cli.ImageRemove(ctx, p.String(), image.RemoveOptions{Force: true})
		}
	})
}
