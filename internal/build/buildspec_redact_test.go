package build

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunBuildspecRedactsSecretsInPieces runs real commands that print
// secrets the way real tools do: a multi-line key whole and line by line,
// a value in halves across two writes, and a value across commands. None
// of it may reach the log.
func TestRunBuildspecRedactsSecretsInPieces(t *testing.T) {
	const key = "-----BEGIN TEST KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\nAASCBKcwggSjAgEAAoIBAQC7VJTU\n-----END TEST KEY-----"
	const token = "ghp_0123456789abcdefSPLIT"
	bs := mustParse(t, `version: 0.2
phases:
  build:
    commands:
      - printf '%s\n' "$DEPLOY_KEY"
      - printf '%s\n' "$DEPLOY_KEY" | sed -n 2p
      - printf 'token %s' "${TOKEN%?????}"; printf '%s\n' "${TOKEN#????????????????????}"
      - printf '%s' "${TOKEN%?????}"
      - printf '%s\n' "${TOKEN#????????????????????}"
`)
	var log bytes.Buffer
	_, err := RunBuildspec(context.Background(), bs, RunOptions{
		Dir: t.TempDir(), Log: &log,
		Env:     map[string]string{"DEPLOY_KEY": key, "TOKEN": token},
		Secrets: []string{key, token},
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	out := log.String()
	for _, leak := range []string{"MIIEvQIBADANBgkqhkiG9w0BAQEF", "AASCBKcwggSjAgEAAoIBAQC7VJTU", token} {
		if strings.Contains(out, leak) {
			t.Errorf("%q reached the log:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "token ***") {
		t.Errorf("the split token is not shown as ***:\n%s", out)
	}
}
