// Package userfile reads the files a user hands canaryflow as
// configuration — canaryflow.yaml, appspec.yaml, taskdef.json, a buildspec,
// the documents under aws/, version files — with a size limit, and only when they are
// regular files. Without it, `--config /dev/zero` reads until memory runs
// out and a FIFO blocks forever; with it, both are refused at once.
package userfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxSize is the largest file Read accepts: 1 MiB, far above any real
// configuration file and small enough to parse in well under a second.
const MaxSize = 1 << 20

// ErrTooLarge is under every *Error for a file over MaxSize.
var ErrTooLarge = errors.New("larger than the limit")

// ErrNotRegular is under every *Error for a device, FIFO, socket or
// directory.
var ErrNotRegular = errors.New("not a regular file")

// Error is a file Read refused, with its name and the limit.
type Error struct {
	Path string
	Err  error // ErrTooLarge or ErrNotRegular
}

func (e *Error) Error() string {
	if errors.Is(e.Err, ErrTooLarge) {
		return fmt.Sprintf("%s: larger than %d bytes (1 MiB), the limit for a file canaryflow reads as configuration", e.Path, MaxSize)
	}
	return fmt.Sprintf("%s: not a regular file: canaryflow reads configuration only from regular files", e.Path)
}

// Unwrap makes errors.Is(err, ErrTooLarge) and ErrNotRegular work.
func (e *Error) Unwrap() error { return e.Err }

// ExitCode makes a refused file a usage error (exit 2) for the CLI.
func (e *Error) ExitCode() int { return 2 }

// Read returns the content of the regular file at path, refusing anything
// over MaxSize and anything that is not a regular file. The file is opened
// without blocking (a FIFO opens at once and is then refused) and read
// through a limit, so a file that grows while it is read is refused too.
// A missing file is the *fs.PathError os.Open returns (fs.ErrNotExist).
func Read(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, &Error{Path: path, Err: ErrNotRegular}
	}
	if info.Size() > MaxSize {
		return nil, &Error{Path: path, Err: ErrTooLarge}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, &Error{Path: path, Err: ErrTooLarge}
	}
	return data, nil
}
