package proxycmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/router"
)

// TestRunExitCodes checks canaryflow-proxy's exit codes and that errors are
// reported under its own name: 2 for what the user typed (nothing listens),
// 1 when the operation fails.
func TestRunExitCodes(t *testing.T) {
	t.Setenv(router.PinSecretEnv, "")
	t.Setenv(AdminTokenEnv, "")
	for _, tc := range []struct {
		args   []string
		want   int
		stderr string
	}{
		{[]string{"--help"}, ExitOK, ""},
		{nil, ExitUsage, "canaryflow-proxy: --blue is required: at least one http://host:port (or --state-dir, for a router a control plane fills)\n"},
		{[]string{"--blue", "http://127.0.0.1:9001", "--green-weight", "101"}, ExitUsage, "canaryflow-proxy: --green-weight: "},
		{[]string{"--blue", "http://127.0.0.1:9001", "--listen", "nonsense"}, ExitUsage, `canaryflow-proxy: --listen: address "nonsense": want host:port`},
		{[]string{"--listen", "127.0.0.1:18080", "--blue", "http://127.0.0.1:18080"}, ExitUsage, "canaryflow-proxy: target http://127.0.0.1:18080 is this proxy's own --listen address 127.0.0.1:18080"},
		{[]string{"--listen", "0.0.0.0:18080", "--blue", "http://127.0.0.1:9001", "--green", "http://localhost:18080"}, ExitUsage, "is this proxy's own --listen address 0.0.0.0:18080"},
		{[]string{"--admin", "127.0.0.1:18090", "--blue", "http://[::1]:9001,http://localhost:18090"}, ExitUsage, "is this proxy's own --admin address"},
		{[]string{"--blue", "http://127.0.0.1:9001", "--pin-header", "X-Pin"}, ExitUsage, "--pin-header X-Pin needs the secret"},
		{[]string{"--no-such-flag"}, ExitUsage, "canaryflow-proxy: unknown flag: --no-such-flag\n"},
		{[]string{"--healthy-threshold", "many"}, ExitUsage, `canaryflow-proxy: invalid argument "many" for "--healthy-threshold"`},
		{[]string{"unexpected"}, ExitUsage, `canaryflow-proxy: unknown command "unexpected" for "canaryflow-proxy"`},
		{[]string{"set-weight"}, ExitUsage, "accepts 1 arg(s), received 0"},
		{[]string{"set-weight", "--nope", "5"}, ExitUsage, "unknown flag: --nope"},
		{[]string{"set-weight", "150"}, ExitUsage, `canaryflow-proxy: set-weight: parse percent "150": above 100`},
		{[]string{"set-weight", "--admin", "127.0.0.1:1", "25"}, ExitError, "canaryflow-proxy: set weight: "},
		{[]string{"--log-file", "/nonexistent-dir/router.log", "--blue", "http://127.0.0.1:9001"}, ExitError, "canaryflow-proxy: --log-file: open /nonexistent-dir/router.log: no such file or directory"},
	} {
		var stdout, stderr bytes.Buffer
		got := Run(context.Background(), tc.args, &stdout, &stderr)
		if got != tc.want || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("canaryflow-proxy %q = %d, stderr %q; want %d, stderr with %q", tc.args, got, stderr.String(), tc.want, tc.stderr)
		}
		if tc.want != ExitOK && stdout.Len() > 0 {
			t.Errorf("canaryflow-proxy %q printed %q on stdout", tc.args, stdout.String())
		}
	}
}

// TestHelp checks that only canaryflow's proxy documents the handover to
// canaryflow-proxy, and that both keep the same text around it.
func TestHelp(t *testing.T) {
	standalone, mounted := NewCommand(Options{}), NewCommand(Options{Use: "proxy", Handoff: true})
	if strings.Contains(standalone.Long, InProcessEnv) || !strings.Contains(mounted.Long, InProcessEnv) {
		t.Errorf("%s documented in the standalone help %t, in canaryflow's %t; want false, true",
			InProcessEnv, strings.Contains(standalone.Long, InProcessEnv), strings.Contains(mounted.Long, InProcessEnv))
	}
	if !strings.HasPrefix(mounted.Long, proxyHelp) || !strings.HasSuffix(mounted.Long, proxyExample) || standalone.Long != proxyHelp+proxyExample {
		t.Errorf("help texts differ beyond the handover paragraph:\n%s\n---\n%s", standalone.Long, mounted.Long)
	}
	if standalone.Use != Name || mounted.Use != "proxy" {
		t.Errorf("Use = %q and %q, want %q and proxy", standalone.Use, mounted.Use, Name)
	}
}

// TestLogFileFlag: the router's log goes to --log-file, and flags the
// router refuses leave no log file behind.
func TestLogFileFlag(t *testing.T) {
	t.Setenv(router.PinSecretEnv, "")
	t.Setenv(AdminTokenEnv, "")
	dir := t.TempDir()
	path := filepath.Join(dir, "router.log")
	var stdout, stderr bytes.Buffer
	if got := Run(context.Background(), []string{"--log-file", path, "--blue", "http://127.0.0.1:9001", "--green-weight", "101"}, &stdout, &stderr); got != ExitUsage {
		t.Fatalf("bad --green-weight with --log-file = %d, want %d (stderr %q)", got, ExitUsage, stderr.String())
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a refused command created the log file: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"--log-file", path, "--listen", "127.0.0.1:0", "--blue", "http://127.0.0.1:9001", "--green-weight", "10"}, &stdout, &stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), "warning: --green-weight 10 but no --green targets") {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the log file never got the warning; it holds %q, stderr %q", b, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if got := <-done; got != ExitOK {
		t.Fatalf("proxy exited %d after its context ended (stderr %q)", got, stderr.String())
	}
	if strings.Contains(stderr.String(), "warning:") {
		t.Errorf("the warning went to standard error too: %q", stderr.String())
	}
}
