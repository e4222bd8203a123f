// Command images measures canaryflow's image and task figures against peers
// in the same run:
//
//   - warm rebuild of examples/hello after a one-line change, to an image
//     pushed in the embedded registry: canaryflow's Go builder, versus plain
//     `go build` (the floor) and go build + `docker build` + `docker push`
//     (the Dockerfile route);
//   - image to first healthy response (GET /healthz → 200): the process
//     runtime versus exec of the same binary (the floor), and the docker
//     runtime versus `docker run -d -p` through the docker CLI.
//
// Usage (from the repository root):
//
//	go run ./bench/images -n 10
//
// It prints one line per measure with p50, min and max in milliseconds.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/canaryflow/canaryflow/internal/build"
	"github.com/canaryflow/canaryflow/internal/registry"
	"github.com/canaryflow/canaryflow/internal/runtime"
)

func main() {
	n := flag.Int("n", 10, "iterations per measure")
	src := flag.String("src", "examples/hello", "the demo service's directory")
	flag.Parse()
	if err := run(context.Background(), *n, *src); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n int, src string) error {
	work, err := os.MkdirTemp("", "canaryflow-bench-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	app := filepath.Join(work, "hello")
	if err := copyService(src, app); err != nil {
		return err
	}
	reg, err := registry.New(registry.Options{Dir: filepath.Join(work, "registry")})
	if err != nil {
		return err
	}
	ln, err := registry.Listen("")
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go reg.Serve(sctx, ln)
	host := ln.Addr().String()
	target := build.Target{Registry: host, Repository: "hello", Token: reg.Token()}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer cli.Close()

	// Warm everything once: the Go build cache, the registry, the engine.
	edit := func(i int) error { return oneLineChange(app, i) }
	if err := edit(0); err != nil {
		return err
	}
	img, err := build.GoImage(ctx, build.GoImageOptions{Dir: app, Version: "1.0.0"})
	if err != nil {
		return err
	}
	ref, err := build.Push(ctx, img, target)
	if err != nil {
		return err
	}

	var goBuild, cfBuild, dockerRoute []time.Duration
	for i := 1; i <= n; i++ {
		if err := edit(i); err != nil {
			return err
		}
		d, err := timed(func() error { return plainGoBuild(ctx, app, filepath.Join(work, "bin-floor")) })
		if err != nil {
			return err
		}
		goBuild = append(goBuild, d)

		if err := edit(1000 + i); err != nil {
			return err
		}
		d, err = timed(func() error {
			img, err := build.GoImage(ctx, build.GoImageOptions{Dir: app, Version: "1.0.0"})
			if err != nil {
				return err
			}
			t := target
			t.Tag = fmt.Sprintf("cf-%d", i)
			_, err = build.Push(ctx, img, t)
			return err
		})
		if err != nil {
			return err
		}
		cfBuild = append(cfBuild, d)

		if err := edit(2000 + i); err != nil {
			return err
		}
		d, err = timed(func() error {
			if err := plainGoBuild(ctx, app, filepath.Join(app, "hello")); err != nil {
				return err
			}
			t := target
			t.Tag = fmt.Sprintf("df-%d", i)
			_, err := build.DockerfileImage(ctx, build.DockerfileOptions{Dir: app, Engine: cli}, t)
			return err
		})
		if err != nil {
			return err
		}
		dockerRoute = append(dockerRoute, d)
	}
	report("rebuild: go build only (floor)", goBuild)
	report("rebuild: canaryflow go builder + push", cfBuild)
	report("rebuild: go build + docker build + docker push", dockerRoute)
	fmt.Printf("ratio canaryflow/floor %.2f, docker-route/canaryflow %.2f\n",
		ratio(cfBuild, goBuild), ratio(dockerRoute, cfBuild))

	// Image to first healthy response.
	proc, err := runtime.NewProcess(runtime.ProcessOptions{Dir: filepath.Join(work, "process"), RegistryToken: reg.Token()})
	if err != nil {
		return err
	}
	dock, err := runtime.NewDocker(runtime.DockerOptions{Client: cli, RegistryToken: reg.Token()})
	if err != nil {
		return err
	}
	image := ref.String()
	fresh, err := runtime.NewProcess(runtime.ProcessOptions{Dir: filepath.Join(work, "process-cold"), RegistryToken: reg.Token()})
	if err != nil {
		return err
	}
	procCold, err := startToHealthy(ctx, fresh, image, 1) // pull + unpack
	if err != nil {
		return err
	}
	procStarts, err := startToHealthy(ctx, proc, image, n)
	if err != nil {
		return err
	}
	floor, err := execToHealthy(ctx, filepath.Join(work, "bin-floor"), n)
	if err != nil {
		return err
	}
	cold, err := startToHealthy(ctx, dock, image, 1) // includes the pull
	if err != nil {
		return err
	}
	dockStarts, err := startToHealthy(ctx, dock, image, n)
	if err != nil {
		return err
	}
	dockerCLI, err := dockerRunToHealthy(ctx, image, n)
	if err != nil {
		return err
	}
	report("healthy: exec of the binary (floor)", floor)
	report("healthy: process runtime, first start (pull)", procCold)
	report("healthy: process runtime (cached image)", procStarts)
	report("healthy: docker runtime, first start (pull)", cold)
	report("healthy: docker runtime (image present)", dockStarts)
	report("healthy: docker CLI run -d -p", dockerCLI)
	fmt.Printf("ratio process/floor %.2f, docker-runtime/docker-cli %.2f\n",
		ratio(procStarts, floor), ratio(dockStarts, dockerCLI))
	p := ref
	p.Tag = ""
	exec.Command("docker", "rmi", p.String()).Run()
	return nil
}

// copyService copies the service's Go files and Dockerfile into dir as a
// module of its own, so edits never touch the repository.
func copyService(src, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"main.go", "Dockerfile"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/hello\n\ngo 1.26\n"), 0o644)
}

// oneLineChange rewrites one line of main.go: the health answer's text, so
// the binary really changes.
func oneLineChange(dir string, i int) error {
	p := filepath.Join(dir, "main.go")
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	done := false
	for j, l := range lines {
		if strings.Contains(l, `io.WriteString(w, "ok`) {
			lines[j] = fmt.Sprintf("\t\tio.WriteString(w, \"ok %d\\n\")", i)
			done = true
		}
	}
	if !done {
		return fmt.Errorf("no health line to change in %s", p)
	}
	return os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644)
}

func plainGoBuild(ctx context.Context, dir, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v: %s", err, b)
	}
	return nil
}

func startToHealthy(ctx context.Context, rt runtime.Runtime, image string, n int) ([]time.Duration, error) {
	var out []time.Duration
	for range n {
		start := time.Now()
		t, err := rt.Start(ctx, runtime.TaskSpec{Image: image, Service: "bench"})
		if err != nil {
			return nil, err
		}
		if err := waitHealthy(t.Addr); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
		if err := rt.Stop(ctx, t.ID, 10*time.Second); err != nil {
			return nil, err
		}
		waitExited(ctx, rt, t.ID)
		if err := rt.Remove(ctx, t.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func waitExited(ctx context.Context, rt runtime.Runtime, id string) {
	for range 1000 {
		if t, err := rt.Status(ctx, id); err != nil || t.State == runtime.StateExited {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func execToHealthy(ctx context.Context, bin string, n int) ([]time.Duration, error) {
	var out []time.Duration
	for range n {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		start := time.Now()
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = []string{"PORT=" + port, "HOST=127.0.0.1"}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		err = waitHealthy("127.0.0.1:" + port)
		out = append(out, time.Since(start))
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func dockerRunToHealthy(ctx context.Context, image string, n int) ([]time.Duration, error) {
	p, err := registry.ParseRef(image)
	if err != nil {
		return nil, err
	}
	p.Tag = ""
	var out []time.Duration
	for range n {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		start := time.Now()
		b, err := exec.CommandContext(ctx, "docker", "run", "-d", "-p", "127.0.0.1:"+port+":8080", "-e", "PORT=8080", p.String()).Output()
		if err != nil {
			return nil, fmt.Errorf("docker run: %w", err)
		}
		err = waitHealthy("127.0.0.1:" + port)
		out = append(out, time.Since(start))
		exec.Command("docker", "rm", "-f", strings.TrimSpace(string(b))).Run()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// waitHealthy polls GET /healthz every millisecond, for at most 30 s.
func waitHealthy(addr string) error {
	cl := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := cl.Get("http://" + addr + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("%s never became healthy", addr)
}

func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

func p50(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func report(name string, ds []time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	fmt.Printf("%-48s n=%-3d p50 %8.1f ms  min %8.1f ms  max %8.1f ms\n", name, len(s),
		ms(p50(s)), ms(s[0]), ms(s[len(s)-1]))
}

func ratio(a, b []time.Duration) float64 { return float64(p50(a)) / float64(p50(b)) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// freePort asks the kernel for a free loopback port.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port), nil
}
