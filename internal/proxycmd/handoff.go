package proxycmd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// InProcessEnv set to 1 keeps `canaryflow proxy` in-process, without a word.
const InProcessEnv = "CANARYFLOW_PROXY_INPROCESS"

// handOff replaces the process with the canaryflow-proxy binary beside the
// running executable: same PID (signals, supervisors and RSS sampling see
// no difference), the flags the user set and the environment. It returns
// only when the proxy is to be served in-process, and then says why on
// cmd's stderr unless InProcessEnv asked for it.
func handOff(cmd *cobra.Command) {
	if os.Getenv(InProcessEnv) == "1" {
		return
	}
	// exec keeps the process's own stdout and stderr only: a caller that
	// gave the command other writers (a test) gets its output where it
	// asked, in-process.
	if cmd.OutOrStdout() != io.Writer(os.Stdout) || cmd.ErrOrStderr() != io.Writer(os.Stderr) {
		return
	}
	exe, err := os.Executable()
	var path string
	if err == nil {
		path, err = siblingOf(exe)
	}
	if err == nil {
		argv := append([]string{path}, flagArgs(cmd)...)
		err = fmt.Errorf("exec %s: %w", path, syscall.Exec(path, argv, os.Environ()))
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v; serving the proxy in-process, in about twice the memory %s would take\n",
		cmd.Root().Name(), err, Name)
}

// siblingOf returns the executable file named canaryflow-proxy in the
// directory of exe once symbolic links are resolved, so that a canaryflow
// linked into $PATH finds the proxy installed beside its real file. It
// never searches $PATH: a canaryflow-proxy elsewhere may be another
// version.
func siblingOf(exe string) (string, error) {
	resolved, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return "", fmt.Errorf("find %s: %w", Name, err)
	}
	path := filepath.Join(filepath.Dir(resolved), Name)
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("no executable %s", path)
	}
	return path, nil
}

// flagArgs rebuilds the flags the user set on cmd as --name=value, which
// parses back to the same value for every proxy flag (strings, ints, bools
// and durations; "=" keeps empty values and values starting with "-"
// whole). Flags inherited from canaryflow (--chdir, --config) mean nothing
// to the proxy and are left out.
func flagArgs(cmd *cobra.Command) []string {
	var args []string
	inherited := cmd.InheritedFlags()
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if inherited.Lookup(f.Name) == nil {
			args = append(args, "--"+f.Name+"="+f.Value.String())
		}
	})
	return args
}
