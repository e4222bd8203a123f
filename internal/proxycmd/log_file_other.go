//go:build !linux

package proxycmd

import "os"

// redirect leaves to where it is: standard output and error stay on the
// renamed file away from Linux.
func redirect(from, to *os.File) error { return nil }
