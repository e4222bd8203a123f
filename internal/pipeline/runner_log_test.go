package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canaryflow/canaryflow/internal/store"
)

// writerStage is a stage that writes the given pieces, one Write each, and
// returns err.
func writerStage(name string, err error, pieces ...string) Stage {
	return Stage{Name: name, Run: func(ctx context.Context, e *Execution, log io.Writer) error {
		for _, p := range pieces {
			if _, err := io.WriteString(log, p); err != nil {
				return err
			}
		}
		return err
	}}
}

func TestRunnerRedactsSecretsWrittenInPieces(t *testing.T) {
	x, _ := newExecutions(t)
	const pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END KEY-----\n"
	r, err := NewRunner(RunnerOptions{Executions: x, Secrets: []string{"hunter2-secret", pem},
		Stages: []Stage{writerStage("Build", errors.New("login as hunter2-secret refused"),
			"password hun", "ter2-", "secret\n", "key:\n", pem[:10], pem[10:30], pem[30:], "end\n")}})
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := r.Start(context.Background(), rel("v1.0.0"), "poll")
	if err != nil {
		t.Fatal(err)
	}
	r.Wait()
	got, _ := x.Get(e.ID)
	log, _ := x.Log(e.ID, "")
	all := string(log) + got.Error + got.Stage("Build").Error
	for _, leak := range []string{"hunter2", "MIIEvQIBADANBgkqhkiG9w0B"} {
		if strings.Contains(all, leak) {
			t.Errorf("%q was stored:\n%s", leak, all)
		}
	}
	if string(log) != "password ***\nkey:\n***end\n" {
		t.Errorf("log = %q", log)
	}
}

func TestRunnerCapsABuildLog(t *testing.T) {
	mirror, r := releaseWith(t, map[string]string{
		"VERSION": "1.0.0\n",
		".buildspec.yml": `version: 0.2
phases:
  build:
    commands:
      - i=0; while [ $i -lt 4000 ]; do echo "line $i of a build that prints far too much"; i=$((i+1)); done
      - echo still running > after.txt
`,
	}, "v1.0.0")
	x, _ := newExecutions(t)
	const limit = 16 << 10
	var built bool
	runner, err := NewRunner(RunnerOptions{Executions: x, MaxLogBytes: limit, Stages: []Stage{
		BuildStage(BuildStageOptions{MirrorDir: mirror, WorkRoot: t.TempDir(), Flow: flowOpts(),
			Image: func(_ context.Context, ws string, _ *Execution, log io.Writer) (string, error) {
				_, err := os.Stat(filepath.Join(ws, "after.txt"))
				built = err == nil
				fmt.Fprintln(log, "[canaryflow] image built")
				return "127.0.0.1:5000/hello:1.0.0@sha256:abc", nil
			}}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := runner.Start(context.Background(), r, "poll")
	if err != nil {
		t.Fatal(err)
	}
	runner.Wait()
	got, _ := x.Get(e.ID)
	if got.Status != Succeeded || !built {
		t.Errorf("a build past the log limit: %s %q, rest of the build ran: %v", got.Status, got.Error, built)
	}
	log, _ := x.Log(e.ID, "Build")
	marker := TruncatedMarker(limit)
	if !strings.HasSuffix(string(log), "\n"+marker) || !strings.Contains(marker, "log truncated at 16 KiB") {
		t.Errorf("log does not end with the marker line %q: ...%q", marker, log[max(len(log)-200, 0):])
	}
	if len(log) > limit+len(marker)+1 {
		t.Errorf("log is %d bytes, want at most %d + the marker", len(log), limit)
	}
	if !strings.Contains(string(log), "line 0 of a build") {
		t.Errorf("log lost its start: %q", log[:min(len(log), 300)])
	}
}

func TestStageLogCutsOnceAndOnItsOwnLine(t *testing.T) {
	x, _ := newExecutions(t)
	l := &stageLog{x: x, id: "e-000001", stage: "Build", max: 10}
	for _, p := range []string{"12345", "6789abc", "more", "\n"} {
		if n, err := l.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("write %q: %d %v", p, n, err)
		}
	}
	log, _ := x.Log("e-000001", "")
	if want := "123456789a\n" + TruncatedMarker(10); string(log) != want {
		t.Errorf("log = %q, want %q", log, want)
	}
	if m := TruncatedMarker(10 << 20); !strings.Contains(m, "... log truncated at 10 MiB") {
		t.Errorf("marker = %q", m)
	}
}

func TestRunnerDeletesOldExecutionsWithTheirLogs(t *testing.T) {
	x, _ := newExecutions(t)
	r, err := NewRunner(RunnerOptions{Executions: x, KeepExecutions: 2,
		Stages: []Stage{writerStage("Build", nil, "building\n", "done\n")}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tag := range []string{"v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"} {
		e, _, err := r.Start(context.Background(), rel(tag), "poll")
		if err != nil {
			t.Fatal(err)
		}
		r.Wait()
		ids = append(ids, e.ID)
	}
	all, _ := x.List()
	if len(all) != 2 || all[0].ID != ids[2] || all[1].ID != ids[3] {
		t.Errorf("kept %+v, want %v", all, ids[2:])
	}
	for i, id := range ids {
		log, err := x.Log(id, "")
		if err != nil {
			t.Fatal(err)
		}
		if kept := i >= 2; kept != (string(log) == "building\ndone\n") {
			t.Errorf("%s: log %q (kept: %v)", id, log, kept)
		}
	}
	var stored []string
	x.st.View(func(tx *store.Tx) error {
		return tx.Scan(store.Logs, "", func(key string, _ []byte) error {
			stored = append(stored, key)
			return nil
		})
	})
	for _, k := range stored {
		if strings.HasPrefix(k, ids[0]+"/") || strings.HasPrefix(k, ids[1]+"/") {
			t.Errorf("log chunk %s of a deleted execution is still stored", k)
		}
	}
	if len(stored) != 4 {
		t.Errorf("stored log chunks %v, want the two kept executions' two each", stored)
	}
}

func TestPruneKeepsExecutionsInProgress(t *testing.T) {
	x, _ := newExecutions(t)
	for _, s := range []Status{InProgress, Failed, Succeeded, Succeeded} {
		e := &Execution{Tag: "v1.0.0", Status: s}
		if err := x.Create(e); err != nil {
			t.Fatal(err)
		}
		x.AppendLog(e.ID, "Build", []byte("log of "+e.ID))
	}
	gone, err := x.Prune(2)
	if err != nil || strings.Join(gone, ",") != "e-000002" {
		t.Errorf("pruned %v %v, want only the finished e-000002", gone, err)
	}
	if log, _ := x.Log("e-000001", ""); string(log) != "log of e-000001" {
		t.Errorf("the execution in progress lost its log: %q", log)
	}
	if _, err := NewRunner(RunnerOptions{Executions: x, KeepExecutions: -1}); err == nil {
		t.Error("a negative KeepExecutions is accepted")
	}
}

// TestRunnerStoredBuildLogHasNoSecret runs a real buildspec through the
// runner, as the daemon does: secrets printed whole, in halves and as a
// multi-line value never reach the stored log.
func TestRunnerStoredBuildLogHasNoSecret(t *testing.T) {
	const key = "-----BEGIN TEST KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\n-----END TEST KEY-----\n"
	const npm = "npm_0123456789abcdef"
	mirror, r := releaseWith(t, map[string]string{
		"VERSION": "1.0.0\n",
		".buildspec.yml": `version: 0.2
env:
  secrets-manager:
    DEPLOY_KEY: prod/deploy-key
phases:
  build:
    commands:
      - printf '%s' "$DEPLOY_KEY"
      - printf 'npm %s' "${NPM_TOKEN%??????????}"; printf '%s\n' "${NPM_TOKEN#??????????}"
      - printf '%s\n' "$DEPLOY_KEY" | sed -n 2p
`,
	}, "v1.0.0")
	x, _ := newExecutions(t)
	runner, err := NewRunner(RunnerOptions{Executions: x, Secrets: []string{npm}, Stages: []Stage{
		BuildStage(BuildStageOptions{MirrorDir: mirror, WorkRoot: t.TempDir(), Flow: flowOpts(),
			Env: map[string]string{"NPM_TOKEN": npm}, Secrets: []string{npm},
			Getenv: func(k string) string { return map[string]string{"DEPLOY_KEY": key}[k] }, SecretEnv: []string{"DEPLOY_KEY"},
			Image: func(_ context.Context, _ string, _ *Execution, log io.Writer) (string, error) {
				io.WriteString(log, "pushing with npm_01234")
				io.WriteString(log, "56789abcdef\n")
				return "127.0.0.1:5000/hello:1.0.0@sha256:abc", nil
			}}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := runner.Start(context.Background(), r, "poll")
	if err != nil {
		t.Fatal(err)
	}
	runner.Wait()
	log, _ := x.Log(e.ID, "")
	if got, _ := x.Get(e.ID); got.Status != Succeeded {
		t.Fatalf("%s %s\n%s", got.Status, got.Error, log)
	}
	for _, leak := range []string{"MIIEvQIBADANBgkqhkiG9w0BAQEF", npm} {
		if strings.Contains(string(log), leak) {
			t.Errorf("%q was stored:\n%s", leak, log)
		}
	}
	if !strings.Contains(string(log), "npm ***\n") || !strings.Contains(string(log), "pushing with ***\n") {
		t.Errorf("the log does not show the redaction:\n%s", log)
	}
}
