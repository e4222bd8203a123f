package proxycmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/canaryflow/canaryflow/internal/router"
)

// A managed router restarts without dropping a request by handing its
// listening sockets to its successor, as nginx does for a binary upgrade:
//
//  1. POST /handover on the admin endpoint, with the successor's flags
//     (empty: the same as now). The state is saved first.
//  2. The router starts its own executable (the file at its path now, so an
//     upgraded binary) with those flags, --inherit-fds naming the
//     production, test and admin sockets it passes, and a ready pipe.
//  3. The successor restores the saved state (targets healthy as they were)
//     and serves on the inherited sockets; connections waiting in their
//     queues are its to accept. It says ready.
//  4. The router stops accepting, answers the request with the successor's
//     PID, lets its requests in flight finish (up to the deregistration
//     delay) and exits, leaving the socket and files to the successor.
//
// If the successor does not get ready, it is killed and the router goes on
// serving as if nothing happened.

// HandoverRequest is the body of POST /handover.
type HandoverRequest struct {
	// Args are the successor's flags ("--name", "value", …); empty keeps
	// the current ones.
	Args []string `json:"args,omitempty"`
}

// HandoverResponse answers a handover that took place.
type HandoverResponse struct {
	PID int `json:"pid"`
}

type handover struct {
	saver     *stateSaver
	rt        *router.Router
	stop      context.CancelFunc
	log       *slog.Logger
	listeners map[string]net.Listener // "listen", "test", "admin"; nil where none
	args      []string

	mu   sync.Mutex // one handover at a time
	done atomic.Bool
	// changes is held for reading by every admin request that changes the
	// router, and for writing by a handover, so that no change falls
	// between the state the successor restores and the end of this
	// router's admin API.
	changes sync.RWMutex
}

// fence wraps the admin API: a change waits while a handover runs, and
// after one it is refused (503) rather than lost on a router that no
// longer serves; the caller sends it again, to the successor.
func (h *handover) fence(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.URL.Path == "/handover" {
			next.ServeHTTP(w, r)
			return
		}
		h.changes.RLock()
		defer h.changes.RUnlock()
		if h.done.Load() {
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusServiceUnavailable, "this router has handed over to a new process: send the request again")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *handover) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req HandoverRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("decode request: %v", err))
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changes.Lock()
	defer h.changes.Unlock()
	if h.done.Load() {
		writeError(w, http.StatusConflict, "this router has handed over already")
		return
	}
	pid, err := h.run(r.Context(), req.Args)
	if err != nil {
		h.log.Error("handover failed; still serving", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	// From here on the socket file and the state file are the
	// successor's: closing the admin listener must not unlink the one,
	// nor a last save overwrite the other.
	h.done.Store(true)
	h.saver.disable()
	if ul, ok := h.listeners["admin"].(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false)
	}
	// Admin requests from now on are the successor's: stop accepting them
	// here before answering, and close this connection after the answer.
	if ln := h.listeners["admin"]; ln != nil {
		_ = ln.Close()
	}
	w.Header().Set("Connection", "close")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(HandoverResponse{PID: pid})
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	h.log.Info("handed over: draining, then exiting", "successor", pid)
	go h.stop() // graceful: in-flight requests finish, nothing new is accepted here
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// run starts the successor with the listening sockets and waits until it
// serves; it returns the successor's PID.
func (h *handover) run(ctx context.Context, args []string) (int, error) {
	if len(args) == 0 {
		args = h.args
	}
	if slices.Contains(args, "--inherit-fds") || slices.Contains(args, "--ready-fd") {
		return 0, errors.New("handover: --inherit-fds and --ready-fd are the router's own to set")
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("handover: %w", err)
	}
	h.saver.save(h.rt) // what the successor restores
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	var inherit []string
	for _, name := range []string{"listen", "test", "admin"} {
		ln := h.listeners[name]
		if ln == nil {
			continue
		}
		fl, ok := ln.(interface{ File() (*os.File, error) })
		if !ok {
			return 0, fmt.Errorf("handover: the %s listener cannot be handed over", name)
		}
		f, err := fl.File()
		if err != nil {
			return 0, fmt.Errorf("handover: %s listener: %w", name, err)
		}
		files = append(files, f)
		inherit = append(inherit, name+"="+strconv.Itoa(2+len(files)))
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pr.Close()
	files = append(files, pw)
	cmd := exec.Command(exe, append(slices.Clone(args), "--inherit-fds", strings.Join(inherit, ","), "--ready-fd", strconv.Itoa(2+len(files)))...)
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = os.Stdout, os.Stderr, files
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("handover: start %s: %w", exe, err)
	}
	pw.Close()
	files = files[:len(files)-1]
	// The successor outlives this process; whoever supervised this one
	// adopts it through the admin socket. Its exit status is not ours to
	// wait for, but its zombie must not linger while this one drains.
	go func() { _ = cmd.Wait() }()
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		ready <- line == "ready\n"
	}()
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	select {
	case ok := <-ready:
		if ok {
			return cmd.Process.Pid, nil
		}
		err = errors.New("the new router exited before serving (see its log)")
	case <-timer.C:
		err = errors.New("the new router did not serve within 15s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = cmd.Process.Kill()
	return 0, fmt.Errorf("handover: %w", err)
}

// parseInheritFDs reads --inherit-fds: "listen=3,test=4,admin=5".
func parseInheritFDs(s string) (map[string]int, error) {
	out := map[string]int{}
	if s == "" {
		return out, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		name, v, ok := strings.Cut(part, "=")
		fd, err := strconv.Atoi(v)
		if !ok || err != nil || fd < 3 || !slices.Contains([]string{"listen", "test", "admin"}, name) || out[name] != 0 {
			return nil, fmt.Errorf("%q: want listen=FD,test=FD,admin=FD with FD ≥ 3", s)
		}
		out[name] = fd
	}
	return out, nil
}

// inheritListener makes a listener of an inherited socket.
func inheritListener(fd int) (net.Listener, error) {
	f := os.NewFile(uintptr(fd), "inherited-listener")
	if f == nil {
		return nil, fmt.Errorf("inherited descriptor %d is not open", fd)
	}
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("inherited descriptor %d: %w", fd, err)
	}
	return ln, nil
}

// listenOrInherit binds addr, or takes the inherited socket fd when it is
// not 0 (it must listen on addr: the flags of a handover name the same
// addresses).
func listenOrInherit(ctx context.Context, lc net.ListenConfig, addr string, fd int) (net.Listener, error) {
	if fd == 0 {
		return lc.Listen(ctx, "tcp", addr)
	}
	ln, err := inheritListener(fd)
	if err != nil {
		return nil, err
	}
	if got := ln.Addr().String(); got != addr && !strings.HasSuffix(addr, ":0") {
		ln.Close()
		return nil, fmt.Errorf("inherited socket listens on %s, not %s", got, addr)
	}
	return ln, nil
}
