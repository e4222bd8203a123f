package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// runtimeCase builds one runtime for the shared behaviour tests.
type runtimeCase struct {
	name string
	make func(t *testing.T, img testImage, service string) Runtime
}

func runtimeCases() []runtimeCase {
	return []runtimeCase{
		{"process", func(t *testing.T, img testImage, _ string) Runtime {
			p, err := NewProcess(ProcessOptions{Dir: processDir(t), RegistryToken: img.token, RegistryHost: img.host})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close(context.Background(), time.Second) })
			return p
		}},
		{"docker", func(t *testing.T, img testImage, service string) Runtime {
			cli := dockerClient(t)
			cleanupContainers(t, cli, service, img.ref)
			d, err := NewDocker(DockerOptions{Client: cli, RegistryToken: img.token, RegistryHost: img.host})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}},
	}
}

func uniqueService(t *testing.T) string {
	b := make([]byte, 4)
	rand.Read(b)
	return "test-" + hex.EncodeToString(b)
}

func TestRuntimeServesDrainsAndLogs(t *testing.T) {
	img := helloImage(t)
	for _, rc := range runtimeCases() {
		t.Run(rc.name, func(t *testing.T) {
			service := uniqueService(t)
			rt := rc.make(t, img, service)
			ctx := context.Background()
			task, err := rt.Start(ctx, TaskSpec{Image: img.ref, Service: service, TaskSet: "blue", Revision: "1"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(task.Addr, "127.0.0.1:") || task.State != StateRunning {
				t.Fatalf("started task = %+v", task)
			}
			if !strings.HasPrefix(task.ImageDigest, "sha256:") || !strings.Contains(img.ref, task.ImageDigest) {
				t.Fatalf("task image digest %q, image %s", task.ImageDigest, img.ref)
			}
			if got := getBody(t, task.Addr, "/"); got != "Version: "+helloVersion+"\n" {
				t.Fatalf("GET / = %q", got)
			}
			waitFor(t, "listening log line", func() bool { return strings.Contains(readLogs(t, rt, task.ID), "listening") })

			tasks, err := rt.List(ctx, map[string]string{LabelService: service, LabelTaskSet: "blue"})
			if err != nil || len(tasks) != 1 || tasks[0].ID != task.ID || tasks[0].Addr != task.Addr {
				t.Fatalf("List = %+v, %v", tasks, err)
			}
			if tasks, _ := rt.List(ctx, map[string]string{LabelService: service, LabelTaskSet: "green"}); len(tasks) != 0 {
				t.Fatalf("List green = %+v", tasks)
			}

			drainCheck(t, rt, task)
			if err := rt.Stop(ctx, task.ID, time.Second); err != nil {
				t.Fatalf("second Stop: %v", err)
			}
			if err := rt.Remove(ctx, task.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := rt.Status(ctx, task.ID); err == nil {
				t.Fatal("Status after Remove succeeded")
			}
		})
	}
}

func TestRuntimeReportsCrash(t *testing.T) {
	img := helloImage(t)
	for _, rc := range runtimeCases() {
		t.Run(rc.name, func(t *testing.T) {
			service := uniqueService(t)
			rt := rc.make(t, img, service)
			ctx := context.Background()
			// An address that cannot be listened on makes hello exit 1.
			task, err := rt.Start(ctx, TaskSpec{Image: img.ref, Service: service, Env: map[string]string{"HOST": "no-such-host.invalid"}})
			if err != nil {
				t.Fatal(err)
			}
			var st Task
			waitFor(t, "the task to exit", func() bool {
				st, err = rt.Status(ctx, task.ID)
				return err == nil && st.State == StateExited
			})
			if st.ExitCode != 1 || st.Reason != "crashed" {
				t.Fatalf("crashed task = %+v", st)
			}
			if logs := readLogs(t, rt, task.ID); !strings.Contains(logs, "listen") {
				t.Fatalf("crash logs = %q", logs)
			}
			if err := rt.Remove(ctx, task.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRuntimeStopKillsAfterGrace(t *testing.T) {
	img := helloImage(t)
	rt := runtimeCases()[0].make(t, img, "")
	ctx := context.Background()
	task, err := rt.Start(ctx, TaskSpec{Image: img.ref})
	if err != nil {
		t.Fatal(err)
	}
	getBody(t, task.Addr, "/healthz")
	if err := rt.Stop(ctx, task.ID, 0); err != nil {
		t.Fatal(err)
	}
	st, _ := rt.Status(ctx, task.ID)
	if st.State != StateExited || st.Reason != "stopped" {
		t.Fatalf("after Stop with no grace: %+v", st)
	}
}

func TestTaskSpecValidate(t *testing.T) {
	for _, s := range []TaskSpec{
		{},
		{Image: "x", HostPort: 70000},
		{Image: "x", ContainerPort: -1},
		{Image: "x", Env: map[string]string{"A=B": "c"}},
		{Image: "x", Env: map[string]string{"": "c"}},
	} {
		if s.Validate() == nil {
			t.Errorf("Validate(%+v) = nil", s)
		}
	}
}

func TestSelect(t *testing.T) {
	ctx := context.Background()
	if _, err := Select(ctx, SelectOptions{Mode: "podman"}); err == nil {
		t.Fatal("Select(podman) succeeded")
	}
	rt, err := Select(ctx, SelectOptions{Mode: ModeProcess, StateDir: t.TempDir()})
	if err != nil || rt.Name() != ModeProcess {
		t.Fatalf("Select(process) = %v, %v", rt, err)
	}
	dockerClient(t) // this machine has an engine: auto must pick it
	rt, err = Select(ctx, SelectOptions{StateDir: t.TempDir()})
	if err != nil || rt.Name() != ModeDocker {
		t.Fatalf("Select(auto) = %v, %v", rt, err)
	}
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	rt, err = Select(ctx, SelectOptions{StateDir: t.TempDir()})
	if err != nil || rt.Name() != ModeProcess {
		t.Fatalf("Select(auto) without engine = %v, %v", rt, err)
	}
	if _, err := Select(ctx, SelectOptions{Mode: ModeDocker}); err == nil {
		t.Fatal("Select(docker) without engine succeeded")
	}
}
