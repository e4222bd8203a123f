package pipeline

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
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
