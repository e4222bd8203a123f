package protect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/canaryflow/canaryflow/internal/git"
)

// hookMarker is the second line of every hook canaryflow writes: a hook
// without it is someone else's and is never overwritten.
const hookMarker = "# written by canaryflow protect; canaryflow protect rewrites it"

// HookScript is the pre-receive hook for rules: a two-line shell script
// that runs command (canaryflow's absolute path, and any words before its
// arguments) as `hook pre-receive`. Every word is single-quoted; the names
// in rules were validated by config and the command is canaryflow's own
// path, so the script holds no user input a shell would read.
func HookScript(command []string, rules Rules) string {
	words := make([]string, 0, len(command)+8)
	for _, w := range command {
		words = append(words, ShellQuote(w))
	}
	words = append(words, "hook", "pre-receive",
		"--main", ShellQuote(rules.Main), "--develop", ShellQuote(rules.Develop),
		"--tag-prefix", ShellQuote(rules.TagPrefix))
	return "#!/bin/sh\n" + hookMarker + "\nexec " + strings.Join(words, " ") + "\n"
}

// ShellQuote quotes s as one word for a POSIX shell.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// LocalOrigin returns the repository directory a remote URL names when it
// is a local path or a file:// URL; ok is false for anything else. A
// relative path is taken from base (the clone's top directory), as git
// does.
func LocalOrigin(remoteURL, base string) (dir string, ok bool) {
	switch {
	case strings.HasPrefix(remoteURL, "file://"):
		u, err := url.Parse(remoteURL)
		if err != nil || u.Path == "" || (u.Host != "" && u.Host != "localhost") {
			return "", false
		}
		return filepath.Clean(u.Path), true
	case strings.Contains(remoteURL, "://"):
		return "", false
	case filepath.IsAbs(remoteURL), strings.HasPrefix(remoteURL, "./"), strings.HasPrefix(remoteURL, "../"):
	default:
		// scp-like host:path is remote; a plain relative path is local.
		if i := strings.IndexByte(remoteURL, ':'); i > 0 && !strings.Contains(remoteURL[:i], "/") {
			return "", false
		}
	}
	if !filepath.IsAbs(remoteURL) {
		remoteURL = filepath.Join(base, remoteURL)
	}
	return filepath.Clean(remoteURL), true
}

// LocalPlan is what protecting a local origin does or would do.
type LocalPlan struct {
	// Origin is the receiving repository's directory.
	Origin string `json:"origin"`
	// Hook is the pre-receive hook's path.
	Hook string `json:"hook"`
	// Script is the hook's content.
	Script string `json:"script"`
	// Current is the hook's content now; empty when there is none.
	Current string `json:"current,omitempty"`
	// UpToDate is true when the hook already says Script.
	UpToDate bool `json:"up_to_date"`
}

// ErrForeignHook is a pre-receive hook canaryflow did not write.
var ErrForeignHook = errors.New("the origin has a pre-receive hook that canaryflow did not write")

// PlanLocal reads the origin's hook and says what protecting it means.
// It changes nothing.
func PlanLocal(ctx context.Context, origin string, rules Rules, command []string) (*LocalPlan, error) {
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	if len(command) == 0 || !filepath.IsAbs(command[0]) {
		return nil, fmt.Errorf("protect: the hook command must be an absolute path, got %q", command)
	}
	repo := &git.Repo{Dir: origin}
	if st, err := os.Stat(origin); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("origin %s is not a directory", origin)
	}
	gitDir, err := repo.Output(ctx, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return nil, fmt.Errorf("origin %s is not a git repository: %w", origin, err)
	}
	hooks := filepath.Join(gitDir, "hooks")
	// git runs the hooks of core.hooksPath when it is set (in the origin's
	// config or the user's): the hook must not go elsewhere, nor sit where
	// git never looks.
	if used, err := repo.Output(ctx, "rev-parse", "--path-format=absolute", "--git-path", "hooks"); err == nil && filepath.Clean(used) != hooks {
		return nil, fmt.Errorf("%w: core.hooksPath sends the origin's hooks to %s; unset it for the origin (git -C %s config --unset core.hooksPath, or set it to %s) and run protect again", ErrForeignHook, used, origin, hooks)
	}
	p := &LocalPlan{Origin: origin, Hook: filepath.Join(hooks, "pre-receive"), Script: HookScript(command, rules)}
	cur, err := os.ReadFile(p.Hook)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		p.Current = string(cur)
		if !bytes.Contains(cur, []byte(hookMarker)) {
			return p, fmt.Errorf("%w (%s): merge its checks with `canaryflow hook pre-receive` by hand, or move it away and run protect again", ErrForeignHook, p.Hook)
		}
	}
	p.UpToDate = p.Current == p.Script
	return p, nil
}

// Apply writes the hook (atomically, executable) unless it is up to date.
func (p *LocalPlan) Apply() error {
	if p.UpToDate {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p.Hook), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.Hook), ".pre-receive-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.WriteString(tmp, p.Script); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p.Hook); err != nil {
		return fmt.Errorf("install %s: %w", p.Hook, err)
	}
	p.Current, p.UpToDate = p.Script, true
	return nil
}
