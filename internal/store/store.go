// Package store is canaryflow's persistence: one embedded bbolt database
// file holding revisions, deployments, lifecycle events, task sets and
// router weights as JSON documents in named collections.
//
// Every write is one bbolt transaction, fsynced before Update returns, so
// a caller that writes a transition before acting on it finds that
// transition again after a crash or kill -9. The package knows nothing of
// deployments: it stores documents; internal/deploy gives them meaning.
package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Collection names a set of documents; it is a bbolt bucket.
type Collection string

// The collections canaryflow keeps.
const (
	Revisions   Collection = "revisions"   // task definition revisions, key service/NNNNNN
	Deployments Collection = "deployments" // deployments, key d-NNNNNN
	Events      Collection = "events"      // lifecycle events, key deploymentID/NN
	TaskSets    Collection = "tasksets"    // task sets, key service/taskSetID
	Weights     Collection = "weights"     // router weights, key service
	Meta        Collection = "meta"        // schema version and counters
	Executions  Collection = "executions"  // pipeline executions, key e-NNNNNN
	Logs        Collection = "logs"        // stage logs, key executionID/stage/NNNNNN
	Sources     Collection = "sources"     // what each pipeline source has seen, key source name
	Outbox      Collection = "outbox"      // notifications not yet delivered, key n-NNNNNN
)

var collections = []Collection{Revisions, Deployments, Events, TaskSets, Weights, Meta, Executions, Logs, Sources, Outbox}

// schemaVersion is written into Meta; a file from a newer canaryflow is
// refused rather than misread.
const schemaVersion = 1

// ErrSchema means the database file was written by an incompatible version.
var ErrSchema = errors.New("store schema mismatch")

// Options tune Open. The zero value is ready to use.
type Options struct {
	// LockTimeout bounds the wait for another process's lock on the file.
	// Zero means 2s.
	LockTimeout time.Duration
	// NoSync skips the fsync after each write. Only tests that simulate a
	// crash without a power loss may set it; the daemon never does.
	NoSync bool
}

// Store is an open database file. Its methods are safe for concurrent use.
type Store struct {
	db *bolt.DB

	mu      sync.Mutex
	changed map[Collection]chan struct{} // closed at the next commit that writes the collection; made when first wanted
}

// Open opens (creating if needed) the database file at path.
// ErrLocked is the error of Open when another process holds the database
// (a daemon already running on the same state directory).
var ErrLocked = errors.New("another process holds the database")

func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 2 * time.Second
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.NoSync = opts.NoSync
	s := &Store{db: db}
	if err := s.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, c := range collections {
			if _, err := tx.CreateBucketIfNotExists([]byte(c)); err != nil {
				return err
			}
		}
		meta := tx.Bucket([]byte(Meta))
		v := meta.Get([]byte("schema"))
		if v == nil {
			return meta.Put([]byte("schema"), []byte(fmt.Sprint(schemaVersion)))
		}
		if string(v) != fmt.Sprint(schemaVersion) {
			return fmt.Errorf("%w: file has schema %s, this canaryflow reads %d", ErrSchema, v, schemaVersion)
		}
		return nil
	})
}

// Close closes the file and releases its lock.
func (s *Store) Close() error { return s.db.Close() }

// Path is the database file's path.
func (s *Store) Path() string { return s.db.Path() }

// Update runs fn in one read-write transaction, durable on return.
// If fn returns an error nothing it wrote is kept.
func (s *Store) Update(fn func(*Tx) error) error {
	t := &Tx{}
	err := s.db.Update(func(tx *bolt.Tx) error { t.tx = tx; return fn(t) })
	if err == nil && len(t.wrote) > 0 {
		s.mu.Lock()
		for c := range t.wrote {
			if ch := s.changed[c]; ch != nil {
				close(ch)
				delete(s.changed, c)
			}
		}
		s.mu.Unlock()
	}
	return err
}

// Changed returns a channel closed at the next committed Update that
// writes collection c, by any writer. Take it before reading, so a write
// after the read closes it: the daemon's event stream is woken this way by
// the controller's and the pipeline's writes, with no polling (and not by
// the many small writes of a build's log).
func (s *Store) Changed(c Collection) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = map[Collection]chan struct{}{}
	}
	ch := s.changed[c]
	if ch == nil {
		ch = make(chan struct{})
		s.changed[c] = ch
	}
	return ch
}

// View runs fn in a read-only transaction over a consistent snapshot.
func (s *Store) View(fn func(*Tx) error) error {
	return s.db.View(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx}) })
}

// Tx is a transaction handed to Update or View.
type Tx struct {
	tx    *bolt.Tx
	wrote map[Collection]bool // the collections Put or Delete wrote
}

func (t *Tx) mark(c Collection) {
	if t.wrote == nil {
		t.wrote = map[Collection]bool{}
	}
	t.wrote[c] = true
}

func (t *Tx) bucket(c Collection) (*bolt.Bucket, error) {
	b := t.tx.Bucket([]byte(c))
	if b == nil {
		return nil, fmt.Errorf("collection %q does not exist", c)
	}
	return b, nil
}

// Put stores v as JSON under key.
func (t *Tx) Put(c Collection, key string, v any) error {
	b, err := t.bucket(c)
	if err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", c, key, err)
	}
	if err := b.Put([]byte(key), data); err != nil {
		return fmt.Errorf("put %s/%s: %w", c, key, err)
	}
	t.mark(c)
	return nil
}

// Get decodes the document under key into v; found is false (and v
// untouched) when there is none.
func (t *Tx) Get(c Collection, key string, v any) (found bool, err error) {
	b, err := t.bucket(c)
	if err != nil {
		return false, err
	}
	data := b.Get([]byte(key))
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("get %s/%s: %w", c, key, err)
	}
	return true, nil
}

// Delete removes key; deleting a missing key is not an error.
func (t *Tx) Delete(c Collection, key string) error {
	b, err := t.bucket(c)
	if err != nil {
		return err
	}
	t.mark(c)
	return b.Delete([]byte(key))
}

// Scan calls fn, in key order, for every document whose key starts with
// prefix. The raw bytes are valid only during the call.
func (t *Tx) Scan(c Collection, prefix string, fn func(key string, raw []byte) error) error {
	b, err := t.bucket(c)
	if err != nil {
		return err
	}
	cur := b.Cursor()
	p := []byte(prefix)
	for k, v := cur.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = cur.Next() {
		if err := fn(string(k), v); err != nil {
			return err
		}
	}
	return nil
}

// NextSeq returns the next number of a counter kept in Meta, starting at 1.
func (t *Tx) NextSeq(name string) (uint64, error) {
	b, err := t.bucket(Meta)
	if err != nil {
		return 0, err
	}
	key := []byte("seq/" + name)
	var n uint64
	if v := b.Get(key); v != nil {
		if err := json.Unmarshal(v, &n); err != nil {
			return 0, fmt.Errorf("counter %s: %w", name, err)
		}
	}
	n++
	data, _ := json.Marshal(n)
	if err := b.Put(key, data); err != nil {
		return 0, fmt.Errorf("counter %s: %w", name, err)
	}
	return n, nil
}

// DeleteSeq removes a counter NextSeq kept, when what it numbered is gone.
func (t *Tx) DeleteSeq(name string) error {
	b, err := t.bucket(Meta)
	if err != nil {
		return err
	}
	return b.Delete([]byte("seq/" + name))
}

// List decodes every document in c whose key starts with prefix, in key order.
func List[T any](t *Tx, c Collection, prefix string) ([]T, error) {
	var out []T
	err := t.Scan(c, prefix, func(key string, raw []byte) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("list %s/%s: %w", c, key, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}
