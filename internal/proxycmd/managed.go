package proxycmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/canaryflow/canaryflow/internal/router"
	"github.com/canaryflow/canaryflow/internal/secretfile"
)

// A proxy run with --state-dir DIR is a router a control plane manages (the
// daemon's, see internal/routerproc). It outlives whoever started it and
// keeps its own state there:
//
//	DIR/state.json    target groups, targets and routing, saved on every
//	                  change and restored at start
//	DIR/admin.sock    the admin endpoint (mode 0600) unless --admin says
//	                  otherwise (see SocketPathFor for a long DIR)
//	DIR/admin.token   its bearer token (0600), kept across restarts
//	DIR/process.json  what /process answers, while it runs
//
// Its admin endpoint serves GET /process besides the router's API.
const (
	StateFile   = "state.json"
	SocketFile  = "admin.sock"
	TokenFile   = "admin.token"
	ProcessFile = "process.json"
)

// ProcessInfo is what a managed proxy says about itself at GET /process.
type ProcessInfo struct {
	PID        int    `json:"pid"`
	Listen     string `json:"listen"`
	TestListen string `json:"test_listen,omitempty"`
	Executable string `json:"executable,omitempty"`
	// Args are the flags it was started with (the ready pipe left out), so
	// a supervisor can tell whether it runs with the settings it wants.
	Args    []string  `json:"args"`
	Started time.Time `json:"started"`
}

// loadState reads a saved router state; ok is false when there is none.
func loadState(dir string) (s router.State, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, false, nil
	}
	if err != nil {
		return s, false, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, false, fmt.Errorf("read %s: %w (move it away to start empty)", filepath.Join(dir, StateFile), err)
	}
	return s, true, nil
}

// stateSaver writes the router's state to DIR/state.json after changes,
// coalescing bursts: a change while a write runs leads to one more write.
type stateSaver struct {
	mu     sync.Mutex  // one write at a time
	off    atomic.Bool // after a handover: the successor owns the file
	dir    string
	kick   chan struct{}
	done   chan struct{}
	errLog func(error)
}

func newStateSaver(dir string, errLog func(error)) *stateSaver {
	return &stateSaver{dir: dir, kick: make(chan struct{}, 1), done: make(chan struct{}), errLog: errLog}
}

// changed asks for a write; it never blocks.
func (s *stateSaver) changed() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// run writes rt's state on every kick until ctx is done, then once more.
func (s *stateSaver) run(ctx context.Context, rt *router.Router) {
	defer close(s.done)
	for {
		select {
		case <-s.kick:
			s.save(rt)
		case <-ctx.Done():
			s.save(rt)
			return
		}
	}
}

// disable stops every later write.
func (s *stateSaver) disable() { s.off.Store(true) }

func (s *stateSaver) save(rt *router.Router) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.off.Load() {
		return
	}
	if err := writeJSONFile(filepath.Join(s.dir, StateFile), rt.State()); err != nil {
		s.errLog(fmt.Errorf("save router state: %w", err))
	}
}

// writeJSONFile replaces path with v's JSON, atomically and durably.
func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// listenAdminSocket binds the admin endpoint's Unix socket at path, mode
// 0600. A socket file left by a proxy that died is replaced; one a live
// proxy answers on is not.
func listenAdminSocket(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("admin socket %s: another router answers there", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return ln, nil
}

// managedToken returns the admin token kept in the state directory.
func managedToken(dir string) (string, error) {
	return secretfile.LoadOrCreate(filepath.Join(dir, TokenFile))
}

// savedBeforeAnswer wraps the admin API so that a change is on disk
// before its answer leaves: a router killed the moment after comes back as
// its caller was told it is. (net/http sends a small answer once the
// handler returns.) Health changes are saved in the background.
func savedBeforeAnswer(h http.Handler, s *stateSaver, rt *router.Router) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.save(rt)
		}
	})
}

// processHandler answers GET /process (the pattern it is mounted on).
func processHandler(info ProcessInfo) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(info)
	})
}

// givenFlags lists the flags set on cmd as "--name", "value" pairs, in
// the order of their names, --ready-fd and --inherit-fds left out.
func givenFlags(cmd *cobra.Command) []string {
	var out []string
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name != "ready-fd" && f.Name != "inherit-fds" && cmd.InheritedFlags().Lookup(f.Name) == nil {
			out = append(out, "--"+f.Name, f.Value.String())
		}
	})
	return out
}

// maxSocketPath is the longest path a Unix socket may bind on Linux, less
// its terminating NUL (sun_path holds 108 bytes).
const maxSocketPath = 107

// SocketPathFor returns where the admin socket of a managed router with
// state directory dir lives: dir/admin.sock, or, when that path is too
// long for a socket, a short one named by a hash of dir, in a directory
// of this user's (mode 0700, refused if anyone else owns it) under
// $XDG_RUNTIME_DIR, else the temporary directory, else /tmp, whichever
// gives a path short enough.
func SocketPathFor(dir string) (string, error) { return SocketPathForEnv(dir, os.Getenv) }

// SocketPathForEnv is SocketPathFor for a process whose environment getenv
// reads (its XDG_RUNTIME_DIR and TMPDIR decide the short directory).
func SocketPathForEnv(dir string, getenv func(string) string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	p := filepath.Join(abs, SocketFile)
	if len(p) <= maxSocketPath {
		return p, nil
	}
	sum := sha256.Sum256([]byte(abs))
	name := hex.EncodeToString(sum[:8]) + ".sock"
	base := "/tmp"
	tmp := getenv("TMPDIR")
	if tmp == "" {
		tmp = "/tmp" // os.TempDir's answer without TMPDIR
	}
	for _, b := range []string{getenv("XDG_RUNTIME_DIR"), tmp} {
		if b != "" && filepath.IsAbs(b) && len(b)+40 <= maxSocketPath {
			base = b
			break
		}
	}
	short := filepath.Join(base, fmt.Sprintf("canaryflow-%d", os.Getuid()))
	if err := os.Mkdir(short, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("admin socket directory: %w", err)
	}
	fi, err := os.Lstat(short)
	if err != nil {
		return "", fmt.Errorf("admin socket directory: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 || !ok || int(st.Uid) != os.Getuid() {
		return "", fmt.Errorf("admin socket directory %s: not a directory of this user's with mode 0700", short)
	}
	return filepath.Join(short, name), nil
}
