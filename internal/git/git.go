// Package git is canaryflow's one wrapper around the git command line.
//
// Every call runs git with an argument vector (never a shell), in an
// explicit directory, with a context for cancellation, and returns git's
// stderr inside the error. Callers put "--" before user input where git
// accepts it; the flow package validates names before they get here.
package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// ErrNotRepository is returned when Dir is not inside a git work tree.
var ErrNotRepository = errors.New("not a git repository")

// Error is a git command that exited non-zero.
type Error struct {
	Args     []string // arguments after "git"
	ExitCode int
	Stderr   string
}

func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", e.ExitCode)
	}
	return fmt.Sprintf("git %s: %s", strings.Join(e.Args, " "), msg)
}

// Repo runs git in one directory.
type Repo struct {
	// Dir is the working directory of every git command. Zero means the
	// process's current directory.
	Dir string
	// Env is added to the process environment of every command.
	Env []string
}

// Open returns a Repo for dir after checking dir is inside a work tree.
func Open(ctx context.Context, dir string) (*Repo, error) {
	r := &Repo{Dir: dir}
	top, err := r.Output(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", displayDir(dir), ErrNotRepository)
	}
	r.Dir = top
	return r, nil
}

func displayDir(dir string) string {
	if dir == "" {
		if wd, err := os.Getwd(); err == nil {
			return wd
		}
		return "."
	}
	return dir
}

// Run runs git with args and returns its standard output.
func (r *Repo) Run(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.Dir
	// Never prompt for credentials or open an editor: canaryflow is driven
	// by scripts and pipelines as often as by people.
	cmd.Env = append(os.Environ(),
		"GIT_TERMINAL_PROMPT=0",
		"GIT_EDITOR=true",
		"GIT_MERGE_AUTOEDIT=no",
		"LC_ALL=C",
	)
	cmd.Env = append(cmd.Env, r.Env...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if ctx.Err() != nil {
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), ctx.Err())
		} else {
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return stdout.String(), &Error{Args: args, ExitCode: code, Stderr: stderr.String()}
	}
	return stdout.String(), nil
}

// Output runs git and returns its standard output with surrounding
// whitespace trimmed.
func (r *Repo) Output(ctx context.Context, args ...string) (string, error) {
	out, err := r.Run(ctx, args...)
	return strings.TrimSpace(out), err
}

// Lines runs git and splits its output into non-empty lines.
func (r *Repo) Lines(ctx context.Context, args ...string) ([]string, error) {
	out, err := r.Run(ctx, args...)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// ExitCode returns the exit code of a git error, or -1 if err is not one.
func ExitCode(err error) int {
	var ge *Error
	if errors.As(err, &ge) {
		return ge.ExitCode
	}
	return -1
}
