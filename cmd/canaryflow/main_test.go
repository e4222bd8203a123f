package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/canaryflow/canaryflow/internal/cli"
	"github.com/canaryflow/canaryflow/internal/leakcheck"
	"github.com/canaryflow/canaryflow/internal/proxycmd"
	"github.com/canaryflow/canaryflow/internal/routerproc"
	"github.com/canaryflow/canaryflow/internal/testport"
)

// TestMain lets testscript run this test binary as the canaryflow and
// canaryflow-proxy commands, with signals wired as their mains do. Both sit
// in one bin directory, so `canaryflow proxy` in a script execs
// canaryflow-proxy as it does when installed.
//
// The run is wrapped by leakcheck: it fails when a script left a process,
// container or image behind.
func TestMain(m *testing.M) {
	routerproc.ServeIfChild() // a daemon's router, when this binary was started as one
	testscript.Main(leakcheck.Wrap(m), map[string]func(){
		"canaryflow": func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			stop()
			os.Exit(code)
		},
		proxycmd.Name: func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := proxycmd.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
			stop()
			os.Exit(code)
		},
	})
}

// TestScripts runs the txtar scripts in testdata/script against the real
// binary and real git repositories.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("GIT_AUTHOR_NAME", "Test Author")
			env.Setenv("GIT_AUTHOR_EMAIL", "author@example.com")
			env.Setenv("GIT_COMMITTER_NAME", "Test Author")
			env.Setenv("GIT_COMMITTER_EMAIL", "author@example.com")
			env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			env.Setenv("GIT_CONFIG_GLOBAL", env.WorkDir+"/.gitconfig")
			env.Setenv("GIT_PAGER", "cat")
			env.Setenv(leakcheck.EnvRun, leakcheck.RunID())
			killTasksAtEnd(env)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"samecommit": sameCommit,
			"freeports":  freePorts,
			"waitlisten": waitListen,
			"linkbin":    linkBin,
			"api":        apiRequest,
			"sighup":     sighup,
			"exits":      exits,
		},
	})
}

// killTasksAtEnd kills, once the script and its background commands are
// over, every process still running from its work directory: a daemon
// leaves its tasks running when it stops (the next one adopts them), and
// a script killed half-way leaves its daemon's tasks orphaned.
func killTasksAtEnd(env *testscript.Env) {
	t, ok := env.T().(interface {
		Cleanup(func())
		Logf(string, ...any)
	})
	if !ok {
		return
	}
	work := env.WorkDir
	getenv := env.Getenv // the script's environment, which its routers had
	t.Cleanup(func() {
		for _, p := range leakcheck.KillUnder(work) {
			t.Logf("killed a process left running: %s", p)
			removeRouterSocket(p, getenv)
		}
	})
}

// removeRouterSocket removes the admin socket of a killed router process
// (canaryflow-proxy --state-dir DIR): when DIR's path is too long for a
// socket, the router listens in a short directory of the user's
// (proxycmd.SocketPathFor), outside the work directory, and a killed one
// cannot remove its socket there itself.
func removeRouterSocket(p leakcheck.Proc, getenv func(string) string) {
	args := strings.Fields(p.Args)
	for i, a := range args {
		dir, ok := strings.CutPrefix(a, "--state-dir=")
		if !ok && a == "--state-dir" && i+1 < len(args) {
			dir, ok = args[i+1], true
		}
		if !ok {
			continue
		}
		if sock, err := proxycmd.SocketPathForEnv(dir, getenv); err == nil && !strings.HasPrefix(sock, dir+string(filepath.Separator)) {
			_ = os.Remove(sock)
		}
	}
}

// exits runs a command as exec does (stdout and stderr are then checked
// with stdout/stderr) and asserts its exit code:
//
//	exits 2 canaryflow flow featur
func exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE COMMAND [ARG...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

// sameCommit asserts that two revisions name the same commit (or, negated,
// different ones), as git rev-parse sees them in the script's directory.
func sameCommit(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: samecommit REV1 REV2")
	}
	var shas [2]string
	for i, rev := range args {
		cmd := exec.Command("git", "rev-parse", "--verify", rev+"^{commit}")
		cmd.Dir = ts.MkAbs(".")
		out, err := cmd.Output()
		if err != nil {
			ts.Fatalf("git rev-parse %s: %v", rev, err)
		}
		shas[i] = strings.TrimSpace(string(out))
	}
	if same := shas[0] == shas[1]; same == neg {
		ts.Fatalf("%s is %s, %s is %s (want them %s)", args[0], shas[0], args[1], shas[1], map[bool]string{false: "equal", true: "different"}[neg])
	}
}

// freePorts picks a free loopback port for each NAME, sets $NAME to it and
// writes it over every "$NAME" in FILE, so scripts that start a daemon
// never collide with another test or a CI neighbour:
//
//	freeports canaryflow.yaml PRODUCTION_PORT TEST_PORT
//
// The ports are below Linux's ephemeral range (32768 and up), where
// neither outgoing connections nor listeners on port 0 are given ports,
// so nothing else takes one between this check and the daemon's bind.
func freePorts(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: freeports FILE NAME...")
	}
	file := ts.MkAbs(args[0])
	data, err := os.ReadFile(file)
	ts.Check(err)
	text := string(data)
	for _, name := range args[1:] {
		if !strings.Contains(text, "$"+name) {
			ts.Fatalf("freeports: %s has no $%s", args[0], name)
		}
		port := strconv.Itoa(pickPort(ts))
		text = strings.ReplaceAll(text, "$"+name, port)
		ts.Setenv(name, port)
	}
	ts.Check(os.WriteFile(file, []byte(text), 0o644))
}

// pickPort reserves a loopback port for this test binary (see testport):
// scripts run in parallel, and with other test binaries on the machine.
func pickPort(ts interface{ Fatalf(string, ...any) }) int {
	port, err := testport.Reserve()
	if err != nil {
		ts.Fatalf("freeports: %v", err)
	}
	return port
}

// waitListen waits, up to 30 seconds, until something accepts TCP
// connections at ADDR (a daemon started in the background is up):
//
//	waitlisten 127.0.0.1:$PORT
func waitListen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitlisten HOST:PORT")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", args[0], time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitlisten: nothing listens at %s after 30s: %v", args[0], err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// linkBin puts the command NAME (as found in $PATH) alone into DIR, so a
// script can run it without the commands installed beside it:
//
//	linkbin canaryflow alone
//	exec alone/canaryflow proxy ...
func linkBin(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: linkbin NAME DIR")
	}
	src, err := exec.LookPath(args[0])
	ts.Check(err)
	dir := ts.MkAbs(args[1])
	ts.Check(os.MkdirAll(dir, 0o755))
	ts.Check(os.Link(src, filepath.Join(dir, args[0])))
}
