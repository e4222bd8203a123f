package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// refWatchInterval is how often a local source's refs are looked at. A
// look is a few stat calls, no git process, so a push to a repository on
// this machine is polled within about this long rather than at the next
// poll interval; with the default 1s interval that saves half a second on
// average between `git push` and the Build stage.
const refWatchInterval = 100 * time.Millisecond

// refWatch notices that a repository on this machine may have new refs,
// the way a post-receive hook would, without writing into the user's
// repository: git updates a ref by renaming a lock file over it in its
// directory (or by rewriting packed-refs, or the reftable list), which
// changes that directory's or file's modification time. A change it misses
// (a tag in a subdirectory of refs/tags, say) is still found by the next
// regular poll.
type refWatch struct {
	paths []string
}

// newRefWatch returns a watch for url when it names a git repository on
// this machine (an absolute path or a file:// URL, bare or with a .git
// directory), else nil: remote sources are only polled.
func newRefWatch(url string) *refWatch {
	dir := strings.TrimPrefix(url, "file://")
	if !filepath.IsAbs(dir) {
		return nil
	}
	gitDir := dir
	if fi, err := os.Stat(filepath.Join(dir, ".git")); err == nil && fi.IsDir() {
		gitDir = filepath.Join(dir, ".git")
	}
	if _, err := os.Stat(filepath.Join(gitDir, "HEAD")); err != nil {
		return nil
	}
	return &refWatch{paths: []string{
		filepath.Join(gitDir, "refs", "tags"),
		filepath.Join(gitDir, "refs", "heads"),
		filepath.Join(gitDir, "packed-refs"),
		filepath.Join(gitDir, "reftable"),
	}}
}

// stamp sums up the watched paths' modification times and sizes; it
// differs from an earlier one when a ref may have changed in between.
func (w *refWatch) stamp() string {
	var b strings.Builder
	for _, p := range w.paths {
		fi, err := os.Stat(p)
		if err != nil {
			b.WriteString("-;")
			continue
		}
		fmt.Fprintf(&b, "%d:%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return b.String()
}
