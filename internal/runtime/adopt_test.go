package runtime

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// TestDockerReadoptsAfterRestart starts a task with one runtime instance and
// client, then finds, queries, tails and stops it with a fresh pair, as a
// restarted canaryflow would.
func TestDockerReadoptsAfterRestart(t *testing.T) {
	img := helloImage(t)
	service := uniqueService(t)
	cli := dockerClient(t)
	cleanupContainers(t, cli, service, img.ref)
	first, _ := NewDocker(DockerOptions{Client: cli, RegistryToken: img.token, RegistryHost: img.host})
	ctx := context.Background()
	started, err := first.Start(ctx, TaskSpec{Image: img.ref, Service: service, TaskSet: "green", Revision: "7", Env: map[string]string{"VERSION": "9.9.9"}})
	if err != nil {
		t.Fatal(err)
	}
	getBody(t, started.Addr, "/healthz")

	cli2, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli2.Close()
	second, _ := NewDocker(DockerOptions{Client: cli2})
	tasks, err := second.List(ctx, map[string]string{LabelService: service, LabelRevision: "7"})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("List after restart = %+v, %v", tasks, err)
	}
	got := tasks[0]
	if got.ID != started.ID || got.Addr != started.Addr || got.State != StateRunning || got.Labels[LabelTaskSet] != "green" || got.ImageDigest != started.ImageDigest {
		t.Fatalf("re-adopted %+v, started %+v", got, started)
	}
	if body := getBody(t, got.Addr, "/"); body != "Version: 9.9.9\n" {
		t.Fatalf("GET / = %q", body)
	}
	if err := second.Stop(ctx, got.ID[:12], 10*time.Second); err != nil {
		t.Fatal(err)
	}
	st, err := second.Status(ctx, got.ID)
	if err != nil || st.State != StateExited || st.ExitCode != 0 {
		t.Fatalf("after Stop: %+v, %v", st, err)
	}
	if !strings.Contains(readLogs(t, second, got.ID), "stopped") {
		t.Fatal("logs lack hello's stop line")
	}
}

// TestProcessTasksAreFoundByAnotherInstance stops a process task from a
// second runtime instance over the same directory (another canaryflow
// command), which finds it through its state file.
func TestProcessTasksAreFoundByAnotherInstance(t *testing.T) {
	img := helloImage(t)
	dir := processDir(t)
	owner, _ := NewProcess(ProcessOptions{Dir: dir, RegistryToken: img.token, RegistryHost: img.host})
	t.Cleanup(func() { owner.Close(context.Background(), time.Second) })
	ctx := context.Background()
	task, err := owner.Start(ctx, TaskSpec{Image: img.ref, Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	getBody(t, task.Addr, "/healthz")

	other, _ := NewProcess(ProcessOptions{Dir: dir})
	tasks, err := other.List(ctx, map[string]string{LabelService: "svc"})
	if err != nil || len(tasks) != 1 || tasks[0].State != StateRunning || tasks[0].Addr != task.Addr {
		t.Fatalf("List from another instance = %+v, %v", tasks, err)
	}
	if err := other.Stop(ctx, task.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	st, err := owner.Wait(ctx, task.ID)
	if err != nil || st.State != StateExited || st.ExitCode != 0 || st.Reason != "stopped" {
		t.Fatalf("after a stop from another instance: %+v, %v", st, err)
	}
	// The image was unpacked once; a second start uses the cache offline.
	again, err := NewProcess(ProcessOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { again.Close(context.Background(), 10*time.Second) })
	t2, err := again.Start(ctx, TaskSpec{Image: "127.0.0.1:1/hello@" + task.ImageDigest})
	if err != nil {
		t.Fatalf("start from the cache without a registry: %v", err)
	}
	getBody(t, t2.Addr, "/healthz")
}

func TestExtractLayerStaysInsideRoot(t *testing.T) {
	for name, entries := range map[string][]tar.Header{
		"dotdot":   {{Name: "../escape", Typeflag: tar.TypeReg}},
		"absolute": {{Name: "/../../escape", Typeflag: tar.TypeReg}},
		"symlink parent": {
			{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/tmp"},
			{Name: "link/escape", Typeflag: tar.TypeReg},
		},
		"hardlink out": {{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, h := range entries {
				h.Mode = 0o644
				tw.WriteHeader(&h)
			}
			tw.Close()
			root := filepath.Join(t.TempDir(), "root")
			os.Mkdir(root, 0o755)
			err := extractLayer(root, &buf)
			if err == nil && name != "absolute" {
				t.Fatal("extractLayer accepted an escaping entry")
			}
			if _, serr := os.Stat(filepath.Join(filepath.Dir(root), "escape")); serr == nil {
				t.Fatal("a file was written outside the root")
			}
			if _, serr := os.Stat("/tmp/escape"); serr == nil {
				t.Fatal("a file was written through a symlink")
			}
		})
	}
}

func TestExtractLayerWhiteouts(t *testing.T) {
	root := t.TempDir()
	write := func(hs ...tar.Header) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range hs {
			h.Mode = 0o755
			tw.WriteHeader(&h)
		}
		tw.Close()
		if err := extractLayer(root, &buf); err != nil {
			t.Fatal(err)
		}
	}
	write(tar.Header{Name: "a/", Typeflag: tar.TypeDir}, tar.Header{Name: "a/x", Typeflag: tar.TypeReg}, tar.Header{Name: "b", Typeflag: tar.TypeReg})
	write(tar.Header{Name: ".wh.b", Typeflag: tar.TypeReg}, tar.Header{Name: "a/.wh..wh..opq", Typeflag: tar.TypeReg})
	if _, err := os.Stat(filepath.Join(root, "b")); err == nil {
		t.Fatal("whiteout did not remove b")
	}
	if _, err := os.Stat(filepath.Join(root, "a", "x")); err == nil {
		t.Fatal("opaque whiteout did not empty a/")
	}
}

// FuzzExtractLayer feeds arbitrary tar streams to the layer extractor: it
// may fail, but it must never write outside the root.
func FuzzExtractLayer(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: ".."})
	tw.WriteHeader(&tar.Header{Name: "link/x", Typeflag: tar.TypeReg, Mode: 0o644})
	tw.WriteHeader(&tar.Header{Name: "../y", Typeflag: tar.TypeReg, Mode: 0o644})
	tw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		root := filepath.Join(base, "root")
		os.Mkdir(root, 0o755)
		_ = extractLayer(root, bytes.NewReader(data))
		entries, err := os.ReadDir(base)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("extractLayer wrote outside the root: %v", entries)
		}
	})
}

// TestDockerOwnersKeepToTheirOwnTasks runs two docker runtimes of two state
// directories on one engine, each with a task of the same service, as two
// daemons of two projects named alike would: each lists only its own, and
// both still list a container started before owners were labelled.
func TestDockerOwnersKeepToTheirOwnTasks(t *testing.T) {
	img := helloImage(t)
	service := uniqueService(t)
	cli := dockerClient(t)
	cleanupContainers(t, cli, service, img.ref)
	ctx := context.Background()
	dirA := t.TempDir()
	ownerA, ownerB := OwnerOf(dirA), OwnerOf(t.TempDir())
	if ownerA == ownerB || ownerA == "" {
		t.Fatalf("owners of two directories: %q and %q", ownerA, ownerB)
	}
	a, _ := NewDocker(DockerOptions{Client: cli, RegistryToken: img.token, RegistryHost: img.host, Owner: ownerA})
	b, _ := NewDocker(DockerOptions{Client: cli, RegistryToken: img.token, RegistryHost: img.host, Owner: ownerB})
	legacy, _ := NewDocker(DockerOptions{Client: cli, RegistryToken: img.token, RegistryHost: img.host})
	start := func(rt *Docker, taskSet string) Task {
		t.Helper()
		task, err := rt.Start(ctx, TaskSpec{Image: img.ref, Service: service, TaskSet: taskSet})
		if err != nil {
			t.Fatal(err)
		}
		return task
	}
	ta, tb, tl := start(a, "blue"), start(b, "blue"), start(legacy, "green")
	if ta.Labels[LabelOwner] != ownerA || tl.Labels[LabelOwner] != "" {
		t.Fatalf("owner labels: %q (want %q) and %q (want none)", ta.Labels[LabelOwner], ownerA, tl.Labels[LabelOwner])
	}
	ids := func(rt *Docker) []string {
		t.Helper()
		tasks, err := rt.List(ctx, map[string]string{LabelService: service})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, task := range tasks {
			out = append(out, task.ID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	if got, want := ids(a), sorted(ta.ID, tl.ID); !slices.Equal(got, want) {
		t.Errorf("owner A lists %v, want its own and the unlabelled one %v", got, want)
	}
	if got, want := ids(b), sorted(tb.ID, tl.ID); !slices.Equal(got, want) {
		t.Errorf("owner B lists %v, want %v", got, want)
	}
	if got, want := ids(legacy), sorted(ta.ID, tb.ID, tl.ID); !slices.Equal(got, want) {
		t.Errorf("a runtime without an owner lists %v, want every one %v", got, want)
	}
	// The command line's runtimes for A's state (canaryflow task ls) are
	// A's too; what images are in use is asked of every owner.
	rts, closeRts, err := Available(ctx, dirA, img.token)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRts()
	d, ok := rts[len(rts)-1].(*Docker)
	if !ok {
		t.Fatalf("Available: %v, want the docker runtime last", rts)
	}
	if got, want := ids(d), sorted(ta.ID, tl.ID); !slices.Equal(got, want) {
		t.Errorf("Available for A's state lists %v, want %v", got, want)
	}
	// With the unlabelled task stopped, only A's and B's run the image.
	if err := legacy.Stop(ctx, tl.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	used, err := ImagesInUse(ctx, t.TempDir(), img.token)
	if err != nil || !used[tb.ImageDigest] {
		t.Errorf("ImagesInUse for a third state = %v, %v; want B's image %s in use", used, err, tb.ImageDigest)
	}
}

func TestOwnerOfIsStableAndDistinct(t *testing.T) {
	dir := t.TempDir()
	if OwnerOf(dir) != OwnerOf(dir+"/.") || OwnerOf(dir) != OwnerOf(filepath.Join(dir, "x", "..")) {
		t.Error("one directory spelled two ways has two owners")
	}
	if OwnerOf(dir) == OwnerOf(dir+"-other") {
		t.Error("two directories share an owner")
	}
	if len(OwnerOf(dir)) != 16 {
		t.Errorf("OwnerOf = %q, want 16 hex digits", OwnerOf(dir))
	}
}
