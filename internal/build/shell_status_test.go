package build

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestRunBuildspecOutputBeforeNextLine: everything a command printed, on
// stdout or stderr and without a final newline, is in the log before the
// runner's line for the next command. (The status once came back on a pipe
// of its own and could overtake the output; a secret printed in two
// halves then had the runner's line between them and escaped redaction.)
func TestRunBuildspecOutputBeforeNextLine(t *testing.T) {
	const n = 150
	var cmds strings.Builder
	for i := range n {
		redirect := ""
		if i%2 == 1 {
			redirect = " >&2"
		}
		fmt.Fprintf(&cmds, "      - printf 'out-%d.'%s\n", i, redirect)
	}
	bs := mustParse(t, "version: 0.2\nphases:\n  build:\n    commands:\n"+cmds.String())
	var log bytes.Buffer
	if _, err := RunBuildspec(context.Background(), bs, RunOptions{Dir: t.TempDir(), Log: &log}); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	for i := range n - 1 {
		printed := strings.Index(out, fmt.Sprintf("out-%d.", i))
		next := strings.Index(out, fmt.Sprintf("running command printf 'out-%d.'", i+1))
		if printed < 0 || next < 0 || printed > next {
			t.Fatalf("command %d's output is not before the next command's line:\n%s", i, out)
		}
	}
	if strings.Contains(out, "\x1e") {
		t.Errorf("the status protocol reached the log:\n%q", out)
	}
}

// TestStatusWriter: statuses are taken out of the stream wherever the
// writes cut it, and everything else passes through in order.
func TestStatusWriter(t *testing.T) {
	var out bytes.Buffer
	w := newStatusWriter(&out)
	w.codes = make(chan int, 8)
	mark := string(w.mark)
	stream := "a" + mark + "0\nbc\x1e" + mark + "17\n" + "\x1e" + "d" + mark[:3] + "e" + mark + "x\n" + "tail\x1e"
	for cut := 1; cut <= len(stream); cut++ {
		out.Reset()
		for len(w.codes) > 0 {
			<-w.codes
		}
		for s := stream; s != ""; {
			k := min(cut, len(s))
			if _, err := w.Write([]byte(s[:k])); err != nil {
				t.Fatal(err)
			}
			s = s[k:]
		}
		w.flush()
		want := "abc\x1e\x1ed" + mark[:3] + "etail\x1e"
		if out.String() != want {
			t.Fatalf("writes of %d bytes: passed %q, want %q", cut, out.String(), want)
		}
		var codes []int
		for len(w.codes) > 0 {
			codes = append(codes, <-w.codes)
		}
		if fmt.Sprint(codes) != "[0 17]" {
			t.Fatalf("writes of %d bytes: codes %v, want [0 17]", cut, codes)
		}
	}
}
