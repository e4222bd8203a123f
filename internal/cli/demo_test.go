package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemoBadFlags checks that out-of-range demo flags are usage errors;
// the demo itself is tested in package demo.
func TestDemoBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--runtime", "kubernetes"},
		{"demo", "--rps", "0"},
		{"demo", "--canary", "1ms"},
		{"demo", "extra"},
	} {
		var out bytes.Buffer
		if code := Run(context.Background(), args, strings.NewReader(""), &out, &out); code != ExitUsage {
			t.Errorf("%v = %d, want %d: %s", args, code, ExitUsage, out.String())
		}
	}
}
