package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// finishState is the marker of a finish in progress, written under
// .git/canaryflow/ before each step is taken, so --continue resumes at the
// step that stopped and --abort knows every ref to put back.
type finishState struct {
	Op      string `json:"op"`   // "release finish", "hotfix finish" or "release tag"
	Kind    string `json:"kind"` // "feature", "release" or "hotfix"
	Version string `json:"version"`
	Branch  string `json:"branch"` // e.g. release/1.2.3
	Tag     string `json:"tag"`    // empty for a feature
	// Main, Develop and Remote are the configured names when the finish
	// began, so a config edit mid-finish cannot change its course.
	Main    string `json:"main"`
	Develop string `json:"develop"`
	Remote  string `json:"remote"`
	Message string `json:"message"`
	Push    bool   `json:"push"`
	Keep    bool   `json:"keep"`
	// Host is set when a release tag began with a hosting side: it
	// publishes the release there. DevelopPR replaces the local back-merge
	// with a pull request, because develop was protected.
	Host      bool `json:"host,omitempty"`
	DevelopPR bool `json:"develop_pr,omitempty"`
	// Changelog is the changelog a release or hotfix finish brings up to
	// date on its branch first; empty: none.
	Changelog string `json:"changelog,omitempty"`
	// Step is the index of the next step to run, or of the step that stopped.
	Step int `json:"step"`
	// StartBranch was checked out when the finish began.
	StartBranch string `json:"start_branch"`
	// Orig maps each ref the finish may move to its value before it began;
	// "" means the ref did not exist.
	Orig map[string]string `json:"orig"`
	// Pushed is set once anything reached the remote: after that, abort can
	// no longer undo the finish.
	Pushed bool `json:"pushed"`
	// Done are the summary lines of the steps taken.
	Done []string `json:"done"`
}

const stateFile = "finish.json"

func (f *Flow) statePath(ctx context.Context) (string, error) {
	dir, err := f.repo.GitDir(ctx)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "canaryflow", stateFile), nil
}

// loadState returns the finish in progress, or nil when there is none.
func (f *Flow) loadState(ctx context.Context) (*finishState, error) {
	path, err := f.statePath(ctx)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read finish state: %w", err)
	}
	var st finishState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("read finish state %s: %w (remove the file to start over)", path, err)
	}
	return &st, nil
}

// saveState writes st atomically.
func (f *Flow) saveState(ctx context.Context, st *finishState) error {
	path, err := f.statePath(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save finish state: %w", err)
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		// writeFileAtomic needs the file to exist for its mode.
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			return fmt.Errorf("save finish state: %w", err)
		}
	}
	if err := writeFileAtomic(path, data, 0o644); err != nil {
		return fmt.Errorf("save finish state: %w", err)
	}
	return nil
}

// clearState removes the marker once a finish completed or was aborted.
func (f *Flow) clearState(ctx context.Context) error {
	path, err := f.statePath(ctx)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("clear finish state: %w", err)
	}
	return nil
}

// stepName describes the step the finish stopped at.
func (st *finishState) stepName() string {
	steps := st.steps()
	if st.Step < len(steps) {
		return steps[st.Step].name
	}
	return "done"
}
