package proxycmd

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogFileRotates writes log records past the cap: the file becomes
// FILE.1 (the one before it is dropped), the new file stays under the cap,
// and every record is whole in one of the two files.
func TestLogFileRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "router.log")
	if err := os.WriteFile(path, []byte("from an earlier router\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const max = 4 << 10
	lf, err := openLogFile(path, max)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(lf, nil))
	const records = 200 // about 12 KB: three files' worth
	for i := range records {
		log.Warn("proxy request", "status", 502, "n", i, "err", strings.Repeat("x", 20))
	}
	if err := lf.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 2 {
		t.Fatalf("files: %v, want router.log and router.log.1", entries)
	}
	var ns []int // the records' numbers, oldest file first
	for _, name := range []string{path + ".1", path} {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > max {
			t.Errorf("%s is %d bytes, over the cap of %d", filepath.Base(name), st.Size(), max)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(name), st.Mode().Perm())
		}
		f, _ := os.Open(name)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			var n int
			i := strings.Index(line, " n=")
			if !strings.HasPrefix(line, "time=") || !strings.HasSuffix(line, strings.Repeat("x", 20)) || i < 0 {
				t.Fatalf("%s: broken record %q", filepath.Base(name), line)
			}
			if _, err := fmt.Sscanf(line[i:], " n=%d", &n); err != nil {
				t.Fatalf("%s: %q: %v", filepath.Base(name), line, err)
			}
			ns = append(ns, n)
		}
		f.Close()
	}
	// The newest records, in order and with none missing, down to the
	// first of router.log.1, which was filled close to the cap.
	if len(ns) == 0 || ns[len(ns)-1] != records-1 {
		t.Fatalf("records kept: %v, want the newest ending with %d", ns, records-1)
	}
	for i := 1; i < len(ns); i++ {
		if ns[i] != ns[i-1]+1 {
			t.Fatalf("records kept: %v: a gap or a reordering after %d", ns, ns[i-1])
		}
	}
	if ns[0] == 0 {
		t.Fatalf("records kept: %v: the oldest survived the rotations", ns)
	}
	if st, _ := os.Stat(path + ".1"); st.Size() < max*3/4 {
		t.Errorf("router.log.1 is %d bytes: rotated well before the cap of %d", st.Size(), max)
	}
}

// TestLogFileRefusesAnUnwritablePath: an error, not a router logging
// nowhere.
func TestLogFileRefusesAnUnwritablePath(t *testing.T) {
	if _, err := openLogFile(filepath.Join(t.TempDir(), "missing", "router.log"), LogFileMax); err == nil {
		t.Fatal("opened a log file in a directory that does not exist")
	}
}

// TestLogFileTakesStandardErrorAlong: a descriptor that wrote to the log
// file when it opened (the router's standard error, as the daemon starts
// it) writes to the new file after a rotation, so a crash's stack trace
// lands in the current log; one open on another file stays there.
func TestLogFileTakesStandardErrorAlong(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "router.log")
	open := func(name string) *os.File {
		t.Helper()
		f, err := os.OpenFile(name, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	stderr, elsewhere := open(path), open(filepath.Join(dir, "terminal"))
	lf, err := openLogFileFollowing(path, 256, stderr, elsewhere)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	for range 3 { // two rotations: router.log.1 is replaced once
		if _, err := lf.Write([]byte(strings.Repeat("r", 200) + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []*os.File{stderr, elsewhere} {
		if _, err := f.WriteString("panic: boom\n"); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return string(b)
	}
	if got := read("router.log"); !strings.HasSuffix(got, "panic: boom\n") {
		t.Errorf("router.log after two rotations = %q; want the crash written to standard error at its end", got)
	}
	if strings.Contains(read("router.log.1"), "panic") {
		t.Error("the crash went to the rotated file")
	}
	if got := read("terminal"); got != "panic: boom\n" {
		t.Errorf("a descriptor on another file was moved: it holds %q", got)
	}
}
