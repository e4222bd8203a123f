package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/runtime"
)

// flakyRuntime fails its first starts with the given error; the methods
// it does not define are the embedded nil interface's and must not run.
type flakyRuntime struct {
	runtime.Runtime
	fail   error
	fails  int
	starts int
}

func (f *flakyRuntime) List(context.Context, map[string]string) ([]runtime.Task, error) {
	return nil, nil
}

func (f *flakyRuntime) Start(_ context.Context, spec runtime.TaskSpec) (runtime.Task, error) {
	f.starts++
	if f.starts <= f.fails {
		return runtime.Task{}, fmt.Errorf("start task from %s: %w", spec.Image, &os.PathError{Op: "fork/exec", Path: "/hello", Err: f.fail})
	}
	return runtime.Task{ID: "t1", Addr: "127.0.0.1:1234", State: runtime.StateRunning}, nil
}

func TestStartRetriesTextFileBusy(t *testing.T) {
	spec := deploy.TaskSpec{ID: "hello-ts-000001-1", TaskSet: "ts-000001",
		Revision: deploy.Revision{Service: "hello", Number: 1, Image: "hello@sha256:ab", Port: 3000}}
	for _, tc := range []struct {
		name       string
		fail       error
		fails      int
		wantStarts int
		wantErr    bool
	}{
		{"busy twice, then started", syscall.ETXTBSY, 2, 3, false},
		{"busy every time", syscall.ETXTBSY, 99, startAttempts, true},
		{"another error is not retried", syscall.ENOEXEC, 1, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &flakyRuntime{fail: tc.fail, fails: tc.fails}
			got, err := (&runtimeTasks{rt: rt}).Start(context.Background(), spec)
			if (err != nil) != tc.wantErr || rt.starts != tc.wantStarts {
				t.Fatalf("Start = %+v, %v after %d starts; want error %v after %d", got, err, rt.starts, tc.wantErr, tc.wantStarts)
			}
			if err != nil && !errors.Is(err, tc.fail) {
				t.Errorf("error %v does not wrap %v", err, tc.fail)
			}
			if err == nil && got.Endpoint != "127.0.0.1:1234" {
				t.Errorf("task %+v", got)
			}
		})
	}
}
