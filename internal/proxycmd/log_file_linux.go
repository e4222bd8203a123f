package proxycmd

import (
	"os"
	"syscall"
)

// redirect makes the descriptor of to refer to the file from is open on.
func redirect(from, to *os.File) error {
	return syscall.Dup3(int(from.Fd()), int(to.Fd()), 0)
}
