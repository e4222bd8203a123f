package proxycmd

import (
	"os"
	"sync"
)

// LogFileMax is how large --log-file grows before it is rotated: it
// becomes FILE.1, replacing the one before, and a new FILE starts. A
// router lives for weeks, and every failed request is a line of its log.
const LogFileMax = 10 << 20

// logFile is the router's log written to a file kept under max bytes,
// with the previous file kept beside it as path.1. Each Write is one log
// record (slog writes a record in one call), so a record never straddles
// two files. When rotating fails it carries on in the file it has.
//
// The router's own standard output and error may be the same file: the
// daemon sends them there (routerproc), so that what is written before the
// log opens, and a crash's stack trace, are in the log too. Those
// descriptors are moved along to each new file (follow): left on the
// renamed one, a crash after two rotations would go to a file already
// replaced, and be lost.
type logFile struct {
	path   string
	max    int64
	follow []*os.File // standard output and error, where they were this file

	mu   sync.Mutex
	f    *os.File
	size int64
}

// openLogFile opens path for appending (0600), creating it; the process's
// standard output and error follow its rotations if they write to it.
func openLogFile(path string, max int64) (*logFile, error) {
	return openLogFileFollowing(path, max, os.Stdout, os.Stderr)
}

// openLogFileFollowing is openLogFile with the descriptors that follow
// the log when they are the same file as it.
func openLogFileFollowing(path string, max int64, std ...*os.File) (*logFile, error) {
	l := &logFile{path: path, max: max}
	if err := l.open(); err != nil {
		return nil, err
	}
	if st, err := l.f.Stat(); err == nil {
		for _, f := range std {
			if fst, err := f.Stat(); err == nil && os.SameFile(st, fst) {
				l.follow = append(l.follow, f)
			}
		}
	}
	return l, nil
}

func (l *logFile) open() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, st.Size()
	return nil
}

func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.size > 0 && l.size+int64(len(p)) > l.max {
		l.rotate()
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// rotate moves the file to path.1 and starts a new one; l.mu is held.
func (l *logFile) rotate() {
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return
	}
	old := l.f
	if err := l.open(); err != nil {
		l.f = old // written on under its new name rather than not at all
		return
	}
	old.Close()
	for _, f := range l.follow {
		_ = redirect(l.f, f)
	}
}

// Close closes the file.
func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
