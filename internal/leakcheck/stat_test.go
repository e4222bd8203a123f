package leakcheck

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		line       string
		ppid, pgid int
	}{
		{"123 (hello) S 1 123 123 0 -1", 1, 123},
		{"7 (a) b) (c) R 5 6 7", 5, 6},
		{"9 (zombie) Z 1 9 9", 0, 0},
		{"9 (short) S 1", 0, 0},
		{"no parens S 1 2", 0, 0},
		{"9 (x) S one 2", 0, 0},
	} {
		if p, g := parseStat(tc.line); p != tc.ppid || g != tc.pgid {
			t.Errorf("parseStat(%q) = %d, %d; want %d, %d", tc.line, p, g, tc.ppid, tc.pgid)
		}
	}
}

// FuzzParseStat: any line is read without panicking, and a well-formed
// line of a live process with any command name gives back its numbers.
func FuzzParseStat(f *testing.F) {
	f.Add("hello", 1, 123)
	f.Add("a) (b", 0, 7)
	f.Fuzz(func(t *testing.T, comm string, ppid, pgid int) {
		parseStat(comm)
		if ppid < 0 || pgid < 0 || strings.ContainsAny(comm, "\x00") {
			return
		}
		line := fmt.Sprintf("42 (%s) S %d %d 0 -1", comm, ppid, pgid)
		if p, g := parseStat(line); p != ppid || g != pgid {
			t.Fatalf("parseStat(%q) = %d, %d", line, p, g)
		}
	})
}
