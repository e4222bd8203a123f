package deploy

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestWaitWokenByTheFinalWrite follows a canary through a ready wait: Wait
// stays blocked while the deployment waits for approval, and returns at
// the very instant of the controller's final write, not on a later tick.
func TestWaitWokenByTheFinalWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		s := baseSettings()
		s.ReadyAction, s.ReadyWait = "STOP_DEPLOYMENT", time.Hour
		d := e.create(e.register("v2"), s)
		type result struct {
			d   Deployment
			at  time.Time
			err error
		}
		res := make(chan result, 1)
		go func() {
			got, err := e.c.Wait(e.ctx, d.ID)
			res <- result{got, time.Now(), err}
		}()
		e.wait(d.ID, func(d *Deployment) bool { return d.Status == StatusReady })
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		select {
		case r := <-res:
			t.Fatalf("Wait returned during the ready wait: %+v %v", r.d, r.err)
		default:
		}
		if err := e.c.Approve(e.ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		r := <-res
		if r.err != nil || r.d.Status != StatusSucceeded {
			t.Fatalf("Wait = %+v, %v", r.d, r.err)
		}
		if !r.at.Equal(r.d.Completed) {
			t.Errorf("Wait returned at %s, the deployment completed at %s", r.at, r.d.Completed)
		}
	})
}

// TestWaitEndsWithContext returns ctx's error and the deployment as it
// stood when ctx ends before the deployment does.
func TestWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		baseline(e)
		s := baseSettings()
		s.ReadyAction, s.ReadyWait = "STOP_DEPLOYMENT", time.Hour
		d := e.create(e.register("v2"), s)
		e.wait(d.ID, func(d *Deployment) bool { return d.Status == StatusReady })
		ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
		defer cancel()
		start := time.Now()
		got, err := e.c.Wait(ctx, d.ID)
		if !errors.Is(err, context.DeadlineExceeded) || got.Status != StatusReady {
			t.Fatalf("Wait = %s, %v; want Ready and the deadline", got.Status, err)
		}
		if took := time.Since(start); took != time.Minute {
			t.Errorf("Wait took %s, want the context's minute", took)
		}
	})
}

// TestWaitFinishedAndUnknown: a finished deployment returns at once, an
// unknown one with ErrNotFound.
func TestWaitFinishedAndUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.close()
		v1 := e.register("v1")
		d := e.waitDone(e.create(v1, Settings{DesiredCount: 1}).ID)
		start := time.Now()
		got, err := e.c.Wait(e.ctx, d.ID)
		if err != nil || got.Status != d.Status || time.Since(start) != 0 {
			t.Errorf("Wait on a finished deployment = %s, %v after %s", got.Status, err, time.Since(start))
		}
		if _, err := e.c.Wait(e.ctx, "d-nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Wait on an unknown deployment: %v", err)
		}
	})
}
