package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/canaryflow/canaryflow/internal/redact"
)

// Phase and build statuses, CodeBuild's words.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusSkipped   = "SKIPPED"
)

// RunOptions configure RunBuildspec.
type RunOptions struct {
	// Dir is the source directory (CODEBUILD_SRC_DIR); required.
	Dir string
	// Env adds variables to every command (CODEBUILD_* and the pipeline's
	// own). Buildspec env.variables override the inherited environment; Env
	// overrides both.
	Env map[string]string
	// Environ is canaryflow's own environment, as os.Environ returns it.
	// Commands inherit only PATH, HOME, TMPDIR, LANG, LC_* and the Docker
	// engine's location from it (see inheritedEnv), plus PassEnv. Zero
	// means os.Environ.
	Environ func() []string
	// PassEnv names further variables of Environ passed to the commands
	// when set (pipeline.build.pass_env).
	PassEnv []string
	// Getenv resolves the buildspec's parameter-store / secrets-manager
	// variables locally. Zero means os.Getenv; the pipeline passes one that
	// answers only for the names in pipeline.build.secret_env.
	Getenv func(string) string
	// Secrets are further values to redact from the log (e.g. registry
	// passwords the caller put in Env).
	Secrets []string
	// Log receives the build's output, secrets redacted. Zero discards it.
	Log io.Writer
	// ArtifactsDir receives the artifact files. Zero means artifacts are
	// matched and listed but not copied.
	ArtifactsDir string
	// Now is the clock for phase times. Zero means time.Now.
	Now func() time.Time
}

// PhaseResult is how one phase went.
type PhaseResult struct {
	Name          string
	Status        string
	Start, End    time.Time
	FailedCommand string // the command that failed, redacted
	ExitCode      int
}

// BuildResult is how a whole buildspec run went.
type BuildResult struct {
	Status    string // SUCCEEDED or FAILED
	Phases    []PhaseResult
	Artifacts []string // artifact paths, relative to ArtifactsDir
}

// ErrBuildFailed is returned (wrapped) when a phase or the artifacts failed.
var ErrBuildFailed = errors.New("build failed")

// RunBuildspec runs the phases as CodeBuild does: in order, in one shell
// session (a `cd` or `export` carries over to the next command), each
// phase's commands until the first failure, then its finally commands. A
// failed install or pre_build ends the build unless its on-failure is
// CONTINUE; a failed build phase still runs post_build, with
// CODEBUILD_BUILD_SUCCEEDING=0; artifacts are always attempted.
//
// The commands are the repository's own buildspec, run by a shell as on
// CodeBuild; values from outside (tag, commit, secrets) reach them only as
// environment variables, never spliced into command text.
func RunBuildspec(ctx context.Context, bs *Buildspec, o RunOptions) (*BuildResult, error) {
	if o.Dir == "" {
		return nil, errors.New("run buildspec: no source directory")
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Environ == nil {
		o.Environ = os.Environ
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	env := map[string]string{}
	for k, v := range bs.Env.Variables {
		env[k] = v
	}
	secrets := append([]string(nil), o.Secrets...)
	for name, ref := range bs.Env.Secrets {
		v := o.Getenv(name)
		if v == "" {
			return nil, fmt.Errorf("run buildspec: secret %s (%s on AWS) is not set: export %s in canaryflow's environment and list it in pipeline.build.secret_env", name, ref, name)
		}
		env[name] = v
		secrets = append(secrets, v)
	}
	for k, v := range o.Env {
		env[k] = v
	}
	env["CODEBUILD_SRC_DIR"] = o.Dir
	env["CODEBUILD_BUILD_SUCCEEDING"] = "1"
	hide := redact.New(secrets...)
	log := redact.NewWriter(o.Log, hide)
	defer log.Close()

	start := func() (*shell, error) {
		return startShell(ctx, bs.Env.Shell, o.Dir, commandEnv(o.Environ(), o.PassEnv, env), log)
	}
	sh, err := start()
	if err != nil {
		return nil, err
	}
	defer func() { sh.close() }()

	res := &BuildResult{Status: StatusSucceeded}
	stop := false // a failed phase with on-failure ABORT ends the build
	for _, p := range bs.Phases {
		pr := PhaseResult{Name: p.Name, Status: StatusSkipped}
		runThis := !stop || (p.Name == "post_build" && res.buildPhaseFailed())
		if !runThis {
			res.Phases = append(res.Phases, pr)
			continue
		}
		pr.Start = o.Now()
		fmt.Fprintf(log, "[canaryflow] entering phase %s\n", strings.ToUpper(p.Name))
		pr.Status = StatusSucceeded
		for _, c := range p.Commands {
			if sh.dead() {
				if sh, err = start(); err != nil {
					return nil, err
				}
			}
			fmt.Fprintf(log, "[canaryflow] running command %s\n", c)
			code, err := sh.run(ctx, c)
			if err != nil {
				return nil, err
			}
			if code != 0 {
				pr.Status, pr.FailedCommand, pr.ExitCode = StatusFailed, hide.String(c), code
				fmt.Fprintf(log, "[canaryflow] command did not exit successfully %s exit status %d\n", c, code)
				break
			}
		}
		for _, c := range p.Finally {
			if sh.dead() {
				if sh, err = start(); err != nil {
					return nil, err
				}
			}
			fmt.Fprintf(log, "[canaryflow] running finally command %s\n", c)
			code, err := sh.run(ctx, c)
			if err != nil {
				return nil, err
			}
			if code != 0 && pr.Status == StatusSucceeded {
				pr.Status, pr.FailedCommand, pr.ExitCode = StatusFailed, hide.String(c), code
			}
		}
		pr.End = o.Now()
		fmt.Fprintf(log, "[canaryflow] phase %s %s\n", strings.ToUpper(p.Name), pr.Status)
		res.Phases = append(res.Phases, pr)
		if pr.Status == StatusFailed {
			res.Status = StatusFailed
			env["CODEBUILD_BUILD_SUCCEEDING"] = "0" // for a shell started later
			if !sh.dead() {
				if _, err := sh.run(ctx, "export CODEBUILD_BUILD_SUCCEEDING=0"); err != nil {
					return nil, err
				}
			}
			if p.OnFailure != "CONTINUE" {
				stop = true
			}
		}
	}
	if len(bs.Artifacts.Files) > 0 {
		files, err := collectArtifacts(o.Dir, bs.Artifacts, o.ArtifactsDir)
		if err != nil {
			res.Status = StatusFailed
			fmt.Fprintf(log, "[canaryflow] phase UPLOAD_ARTIFACTS FAILED: %v\n", err)
		} else {
			res.Artifacts = files
			fmt.Fprintf(log, "[canaryflow] phase UPLOAD_ARTIFACTS SUCCEEDED: %d files\n", len(files))
		}
	}
	if res.Status == StatusFailed {
		for _, p := range res.Phases {
			if p.Status == StatusFailed {
				return res, fmt.Errorf("%w: phase %s: command %q exited %d", ErrBuildFailed, p.Name, p.FailedCommand, p.ExitCode)
			}
		}
		return res, fmt.Errorf("%w: artifacts", ErrBuildFailed)
	}
	return res, nil
}

func (r *BuildResult) buildPhaseFailed() bool {
	for _, p := range r.Phases {
		if p.Name == "build" && p.Status == StatusFailed {
			return true
		}
	}
	return false
}

// shell is one long-lived shell session. Each command is written to a file
// and sourced, with its stdin from /dev/null; its exit status follows its
// output in the same stream (fd 3, a copy of the shell's first stdout, so
// a command that redirects its stdout does not take the status with it),
// where statusWriter takes it out.
type shell struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	status  *statusWriter
	tmp     string
	n       int
	done    chan struct{}
	waitErr error
}

// startShell starts a shell in dir with exactly the environment env.
func startShell(ctx context.Context, want, dir string, env []string, out io.Writer) (*shell, error) {
	prog := "/bin/sh"
	args := []string{}
	if want != "sh" && want != "/bin/sh" {
		if p, err := exec.LookPath("bash"); err == nil {
			prog, args = p, []string{"--noprofile", "--norc"}
		}
	}
	tmp, err := os.MkdirTemp("", "canaryflow-build-")
	if err != nil {
		return nil, fmt.Errorf("start build shell: %w", err)
	}
	status := newStatusWriter(out)
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = status, status // one pipe, in order
	// The shell leads a process group of its own, and a cancelled build
	// kills the whole group: killing the shell alone left the command it
	// was running orphaned and running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("start build shell: %w", err)
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("start build shell %s: %w", prog, err)
	}
	s := &shell{cmd: cmd, stdin: stdin, status: status, tmp: tmp, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait() // after the output is copied (or WaitDelay)
		status.flush()
		close(s.done)
	}()
	if _, err := io.WriteString(stdin, "exec 3>&1\n"); err != nil {
		s.close()
		return nil, fmt.Errorf("start build shell %s: %w", prog, err)
	}
	return s, nil
}

// run runs one command and returns its exit status. A command that ends the
// shell (exit N) returns the shell's exit status.
func (s *shell) run(ctx context.Context, command string) (int, error) {
	if s.dead() {
		return 0, errors.New("build shell has exited")
	}
	s.n++
	file := filepath.Join(s.tmp, "cmd"+strconv.Itoa(s.n)+".sh")
	if err := os.WriteFile(file, []byte(command+"\n"), 0o600); err != nil {
		return 0, fmt.Errorf("run build command: %w", err)
	}
	line := fmt.Sprintf(". '%s' </dev/null; %s\n", file, s.status.printStatus())
	if _, err := io.WriteString(s.stdin, line); err != nil {
		<-s.done
		return s.exitCode(), nil
	}
	select {
	case code := <-s.status.codes:
		return code, nil
	case <-s.done:
		select {
		case code := <-s.status.codes: // the status came with the last output
			return code, nil
		default:
			return s.exitCode(), nil
		}
	case <-ctx.Done():
		<-s.done
		return 0, fmt.Errorf("run build command: %w", ctx.Err())
	}
}

func (s *shell) dead() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *shell) exitCode() int {
	var ee *exec.ExitError
	if errors.As(s.waitErr, &ee) {
		if c := ee.ExitCode(); c > 0 {
			return c
		}
	}
	return 1
}

func (s *shell) close() {
	s.stdin.Close()
	<-s.done
	os.RemoveAll(s.tmp)
}

// collectArtifacts matches the artifact patterns under the base directory
// and copies the files into dest (when set).
func collectArtifacts(src string, a Artifacts, dest string) ([]string, error) {
	base := filepath.Join(src, filepath.FromSlash(a.BaseDirectory))
	var matched []string
	seen := map[string]bool{}
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(base, p)
		rel = filepath.ToSlash(rel)
		for _, pat := range a.Files {
			if globMatch(strings.TrimPrefix(pat, "./"), rel) && !seen[rel] {
				seen[rel] = true
				matched = append(matched, rel)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("artifacts: %w", err)
	}
	if len(matched) == 0 {
		return nil, fmt.Errorf("no file matches the artifact patterns %v under %s", a.Files, a.BaseDirectory+"/")
	}
	sort.Strings(matched)
	out := make([]string, 0, len(matched))
	for _, rel := range matched {
		name := rel
		if a.DiscardPaths {
			name = path.Base(rel)
		}
		out = append(out, name)
		if dest == "" {
			continue
		}
		if err := copyFile(filepath.Join(base, filepath.FromSlash(rel)), filepath.Join(dest, filepath.FromSlash(name))); err != nil {
			return nil, fmt.Errorf("artifacts: %w", err)
		}
	}
	return out, nil
}

// globMatch matches a slash path against a pattern where "**" matches any
// number of directories and the other wildcards are path.Match's.
func globMatch(pattern, name string) bool {
	ps, ns := strings.Split(pattern, "/"), strings.Split(name, "/")
	var match func(i, j int) bool
	match = func(i, j int) bool {
		for i < len(ps) {
			if ps[i] == "**" {
				for k := j; k <= len(ns); k++ {
					if match(i+1, k) {
						return true
					}
				}
				return false
			}
			if j >= len(ns) {
				return false
			}
			if ok, _ := path.Match(ps[i], ns[j]); !ok {
				return false
			}
			i, j = i+1, j+1
		}
		return j == len(ns)
	}
	return match(0, 0)
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
