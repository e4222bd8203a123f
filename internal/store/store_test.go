package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

type doc struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func TestPutGetListAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "canaryflow.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *Tx) error {
		for i, k := range []string{"svc/2", "svc/1", "other/1"} {
			if err := tx.Put(Revisions, k, doc{k, i}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	err = s.View(func(tx *Tx) error {
		got, err := List[doc](tx, Revisions, "svc/")
		if err != nil {
			return err
		}
		if len(got) != 2 || got[0].Name != "svc/1" || got[1].Name != "svc/2" {
			t.Errorf("List = %+v", got)
		}
		var d doc
		found, err := tx.Get(Revisions, "other/1", &d)
		if !found || err != nil || d.N != 2 {
			t.Errorf("Get = %v %v %+v", found, err, d)
		}
		found, err = tx.Get(Revisions, "nope", &d)
		if found || err != nil {
			t.Errorf("Get missing = %v %v", found, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFailedUpdateKeepsNothing(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	boom := errors.New("boom")
	err = s.Update(func(tx *Tx) error {
		if err := tx.Put(Deployments, "d-1", doc{"a", 1}); err != nil {
			return err
		}
		if _, err := tx.NextSeq("deployment"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	err = s.Update(func(tx *Tx) error {
		var d doc
		if found, _ := tx.Get(Deployments, "d-1", &d); found {
			t.Error("a failed transaction's write was kept")
		}
		n, err := tx.NextSeq("deployment")
		if n != 1 {
			t.Errorf("NextSeq = %d, want 1 (rolled back counter)", n)
		}
		if err := tx.Delete(Deployments, "missing"); err != nil {
			t.Errorf("Delete missing: %v", err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSecondOpenWaitsForLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := Open(path, Options{LockTimeout: 50 * time.Millisecond}); err == nil {
		t.Fatal("second Open of a locked file succeeded")
	}
}

func TestUnknownCollection(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	err = s.Update(func(tx *Tx) error { return tx.Put(Collection("nope"), "k", 1) })
	if err == nil {
		t.Fatal("Put into an unknown collection succeeded")
	}
}

// TestChangedByCollection: a commit closes the channels of the
// collections it wrote, and no other; a failed one closes none.
func TestChangedByCollection(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	deps, logs := s.Changed(Deployments), s.Changed(Logs)
	if err := s.Update(func(tx *Tx) error { return tx.Put(Logs, "e-1/Build/000001", "line") }); err != nil {
		t.Fatal(err)
	}
	if !closed(logs) || closed(deps) {
		t.Fatalf("a log write: logs closed %v, deployments closed %v", closed(logs), closed(deps))
	}
	_ = s.Update(func(tx *Tx) error {
		_ = tx.Put(Deployments, "d-1", "x")
		return errors.New("rolled back")
	})
	if closed(deps) {
		t.Fatal("a failed update woke the deployments' readers")
	}
	if err := s.Update(func(tx *Tx) error { return tx.Delete(Deployments, "d-1") }); err != nil {
		t.Fatal(err)
	}
	if !closed(deps) || closed(s.Changed(Deployments)) {
		t.Fatal("a delete did not wake the deployments' readers, or the next channel is already closed")
	}
}
