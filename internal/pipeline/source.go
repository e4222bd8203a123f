package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/canaryflow/canaryflow/internal/git"
)

// Release is a tag that passed the trigger: a new release to build.
type Release struct {
	Tag     string
	Version *semver.Version
	Commit  string // the tag's commit (peeled)
}

// SeenStore keeps the tags a source has already looked at, so a restart
// neither triggers old tags again nor mistakes them for new ones.
type SeenStore interface {
	// LoadSeen returns the tags seen so far; ok is false before the first save.
	LoadSeen(ctx context.Context) (tags map[string]string, ok bool, err error)
	SaveSeen(ctx context.Context, tags map[string]string) error
}

// SourceOptions configure a Source.
type SourceOptions struct {
	// URL is any remote git can fetch, a local bare repository included.
	URL string
	// MainBranch must contain a tag's commit for it to trigger; zero means "main".
	MainBranch string
	// Trigger filters tag names.
	Trigger Trigger
	// MirrorDir holds a bare mirror of the remote for reachability checks;
	// required.
	MirrorDir string
	// Interval between polls; zero means 1s.
	Interval time.Duration
	// Seen persists the tags looked at; zero keeps them in memory only.
	Seen SeenStore
	// Log receives what the source decides and why; zero discards.
	Log *slog.Logger
	// After is the clock for the poll loop; zero means time.After.
	After func(time.Duration) <-chan time.Time
}

// Validate reports options that cannot work.
func (o *SourceOptions) Validate() error {
	if o.URL == "" {
		return errors.New("source: no repository URL")
	}
	if strings.HasPrefix(o.URL, "-") {
		return fmt.Errorf("source: repository URL %q looks like an option", o.URL)
	}
	if o.MirrorDir == "" {
		return errors.New("source: no mirror directory")
	}
	return o.Trigger.Validate()
}

// Source watches a remote for new release tags.
type Source struct {
	opts   SourceOptions
	mirror *git.Repo
	poke   chan struct{}

	mu   sync.Mutex
	seen map[string]string // tag → commit, never pruned: a deleted tag stays seen
	// loaded is set once seen holds a baseline.
	loaded   bool
	reported map[string]bool // tags whose skip reason was logged already
}

// NewSource returns a Source; Run starts it.
func NewSource(opts SourceOptions) (*Source, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.MainBranch == "" {
		opts.MainBranch = "main"
	}
	if opts.Interval == 0 {
		opts.Interval = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.After == nil {
		opts.After = time.After
	}
	return &Source{
		opts:     opts,
		mirror:   &git.Repo{Dir: opts.MirrorDir},
		poke:     make(chan struct{}, 1),
		seen:     map[string]string{},
		reported: map[string]bool{},
	}, nil
}

// Poke asks for a poll now (a webhook arrived). It never blocks.
func (s *Source) Poke() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// Run polls until ctx is done, calling emit for each new release in tag
// order. A failed poll is logged and retried at the next interval. It polls
// every interval, when poked, and, for a repository on this machine, as
// soon as its refs change (see refWatch).
func (s *Source) Run(ctx context.Context, emit func(Release)) error {
	watch := newRefWatch(s.opts.URL)
	for {
		var before string
		if watch != nil {
			before = watch.stamp() // before the poll: a push during it is polled again
		}
		rels, err := s.Poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.opts.Log.Warn("source poll failed", "url", s.opts.URL, "err", err)
		}
		for _, r := range rels {
			emit(r)
		}
		if !s.wait(ctx, watch, before) {
			return nil
		}
	}
}

// wait returns when the next poll is due, or false when ctx is done.
func (s *Source) wait(ctx context.Context, watch *refWatch, stamp string) bool {
	interval := s.opts.After(s.opts.Interval)
	for {
		var look <-chan time.Time
		if watch != nil {
			look = s.opts.After(refWatchInterval)
		}
		select {
		case <-ctx.Done():
			return false
		case <-s.poke:
			return true
		case <-interval:
			return true
		case <-look:
			if watch.stamp() != stamp {
				return true
			}
		}
	}
}

// Poll looks at the remote's tags once and returns the new releases. The
// first poll of a source with no saved state only records a baseline.
func (s *Source) Poll(ctx context.Context) ([]Release, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded && s.opts.Seen != nil {
		tags, ok, err := s.opts.Seen.LoadSeen(ctx)
		if err != nil {
			return nil, fmt.Errorf("load seen tags: %w", err)
		}
		if ok {
			s.seen, s.loaded = tags, true
		}
	}
	remote, err := lsRemoteTags(ctx, &git.Repo{Dir: s.tempDir()}, s.opts.URL)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(remote))
	for n := range remote {
		names = append(names, n)
	}
	sort.Strings(names)
	if !s.loaded {
		for _, n := range names {
			s.seen[n] = remote[n]
		}
		s.loaded = true
		s.opts.Log.Info("source baseline", "url", s.opts.URL, "tags", len(names))
		return nil, s.save(ctx)
	}
	var out []Release
	fetched := false
	changed := false
	for _, n := range names {
		sha := remote[n]
		if prev, ok := s.seen[n]; ok {
			if prev != sha && !s.reported[n] {
				s.opts.Log.Warn("tag ignored", "tag", n, "reason", "tag moved to another commit; a moved tag never triggers")
				s.reported[n] = true
			}
			continue
		}
		v, reason := s.opts.Trigger.Match(n)
		if v == nil {
			s.opts.Log.Info("tag ignored", "tag", n, "reason", reason)
			s.seen[n], changed = sha, true
			continue
		}
		if !fetched {
			if err := s.fetch(ctx); err != nil {
				return nil, err
			}
			fetched = true
		}
		onMain, err := s.mirror.IsAncestor(ctx, sha, "refs/heads/"+s.opts.MainBranch)
		if err != nil || !onMain {
			// Not on main (yet): main may be pushed after the tag, so look again next time.
			if !s.reported[n] {
				s.opts.Log.Info("tag waiting", "tag", n, "reason", "its commit is not reachable from "+s.opts.MainBranch)
				s.reported[n] = true
			}
			continue
		}
		s.seen[n], changed = sha, true
		out = append(out, Release{Tag: n, Version: v, Commit: sha})
		s.opts.Log.Info("release tag", "tag", n, "commit", sha)
	}
	// Sort by SemVer so v1.10.0 comes after v1.9.0.
	sort.Slice(out, func(i, j int) bool { return out[i].Version.LessThan(out[j].Version) })
	if changed {
		if err := s.save(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Source) save(ctx context.Context) error {
	if s.opts.Seen == nil {
		return nil
	}
	cp := make(map[string]string, len(s.seen))
	for k, v := range s.seen {
		cp[k] = v
	}
	return s.opts.Seen.SaveSeen(ctx, cp)
}

// fetch brings the mirror up to date with the remote's branches and tags.
func (s *Source) fetch(ctx context.Context) error {
	if _, err := os.Stat(s.opts.MirrorDir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(s.opts.MirrorDir, 0o755); err != nil {
			return fmt.Errorf("create mirror: %w", err)
		}
		if _, err := s.mirror.Run(ctx, "init", "--quiet", "--bare"); err != nil {
			return fmt.Errorf("create mirror: %w", err)
		}
	}
	_, err := s.mirror.Run(ctx, "fetch", "--quiet", "--force", "--prune", "--no-tags", "--", s.opts.URL,
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
	if err != nil {
		return fmt.Errorf("fetch %s: %w", s.opts.URL, err)
	}
	return nil
}

// MirrorDir is where the source keeps its bare mirror; builds clone from it.
func (s *Source) MirrorDir() string { return s.opts.MirrorDir }

// tempDir is where ls-remote runs: it needs no repository, only a directory.
func (s *Source) tempDir() string { return os.TempDir() }
