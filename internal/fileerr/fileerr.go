// Package fileerr is canaryflow's one error type for a problem found in a
// file a user wrote: canaryflow.yaml (package config) and the AWS files
// (package awsfmt) both report with it, so the CLI prints every such
// problem as "file:line: field: message" and maps it to one exit code. A
// second copy of the type would let the two formats drift apart.
package fileerr

import (
	"fmt"
	"strings"
)

// Error is a problem in a file, with the place it was found.
type Error struct {
	Path  string // file name as given to the parser
	Line  int    // 1-based; 0 when the problem has no single place
	Field string // dotted path of the field, such as release.tag_prefix; empty for none
	Msg   string
}

// Error formats the problem as "path[:line]: [field: ]msg".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ExitCode makes a malformed file a usage error (exit 2) for the CLI.
func (e *Error) ExitCode() int { return 2 }
