package proxycmd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestFlagArgsRoundTrip checks that the argv handed to canaryflow-proxy
// parses to exactly what the user typed: the same flags set, to the same
// values, and nothing inherited from canaryflow.
func TestFlagArgsRoundTrip(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--blue", "http://127.0.0.1:9001,http://127.0.0.1:9003", "--green=http://127.0.0.1:9002", "--green-weight", "12.5"},
		{"-v", "--net-http", "--listen", "127.0.0.1:18080"},
		{"--verbose=false", "--net-http=false"},
		{"--health-path", "/healthz", "--health-interval", "90s", "--health-timeout", "1500ms", "--healthy-threshold", "7", "--unhealthy-threshold", "1"},
		{"--response-timeout", "0", "--deregistration-delay", "1h"},
		{"--test-listen=", "--admin", "127.0.0.1:8090", "--admin-token", "-starts-with-dash=and has = and spaces"},
		{"--pin-header", "X-Pin", "--sticky-cookie", "cf", "--success-codes", "200,204", "--tls-cert", "c.pem", "--tls-key", "k.pem"},
		{"-C", "/elsewhere", "--config", "x.yaml", "--blue", "http://127.0.0.1:9001"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			user := mounted(t)
			if err := user.ParseFlags(args); err != nil {
				t.Fatalf("parse %q: %v", args, err)
			}
			argv := flagArgs(user)
			again := NewCommand(Options{})
			if err := again.ParseFlags(argv); err != nil {
				t.Fatalf("parse handed-over %q: %v", argv, err)
			}
			if got, want := setFlags(again.Flags()), setFlags(user.LocalFlags()); !slices.Equal(got, want) {
				t.Errorf("handed over %q: set %q, want %q", argv, got, want)
			}
		})
	}
}

// mounted returns the proxy command under a root with canaryflow's
// persistent flags, as `canaryflow proxy` is.
func mounted(t *testing.T) *cobra.Command {
	t.Helper()
	root := &cobra.Command{Use: "canaryflow"}
	root.PersistentFlags().StringP("chdir", "C", "", "")
	root.PersistentFlags().String("config", "", "")
	cmd := NewCommand(Options{Use: "proxy", Handoff: true})
	root.AddCommand(cmd)
	return cmd
}

// setFlags lists the flags set in fs as name=value.
func setFlags(fs *pflag.FlagSet) []string {
	var set []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			set = append(set, f.Name+"="+f.Value.String())
		}
	})
	return set
}

func TestSiblingOf(t *testing.T) {
	write := func(path string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()

	// Beside the executable, executable: found.
	write(filepath.Join(dir, "ok", "canaryflow"), 0o755)
	write(filepath.Join(dir, "ok", Name), 0o755)
	if got, err := siblingOf(filepath.Join(dir, "ok", "canaryflow")); err != nil || got != filepath.Join(dir, "ok", Name) {
		t.Errorf("siblingOf(ok) = %q, %v", got, err)
	}

	// canaryflow linked into a bin directory: beside its real file, not
	// beside the link.
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "ok", "canaryflow"), filepath.Join(dir, "bin", "canaryflow")); err != nil {
		t.Fatal(err)
	}
	if got, err := siblingOf(filepath.Join(dir, "bin", "canaryflow")); err != nil || got != filepath.Join(dir, "ok", Name) {
		t.Errorf("siblingOf(link) = %q, %v", got, err)
	}

	for name, setup := range map[string]func(d string){
		"missing":        func(string) {},
		"not executable": func(d string) { write(filepath.Join(d, Name), 0o644) },
		"a directory": func(d string) {
			if err := os.MkdirAll(filepath.Join(d, Name), 0o755); err != nil {
				t.Fatal(err)
			}
		},
	} {
		d := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		write(filepath.Join(d, "canaryflow"), 0o755)
		setup(d)
		if got, err := siblingOf(filepath.Join(d, "canaryflow")); err == nil || !strings.Contains(err.Error(), "no executable "+filepath.Join(d, Name)) {
			t.Errorf("siblingOf(%s) = %q, %v; want no executable", name, got, err)
		}
	}
}
