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
type logFile struct {
	path string
	max  int64

	mu   sync.Mutex
	f    *os.File
	size int64
}

// openLogFile opens path for appending (0600), creating it.
func openLogFile(path string, max int64) (*logFile, error) {
	l := &logFile{path: path, max: max}
	if err := l.open(); err != nil {
		return nil, err
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
}

// Close closes the file.
func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
