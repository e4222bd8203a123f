package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/canaryflow/canaryflow/internal/store"
)

// Status is an execution's or a stage's state, in CodePipeline's words.
type Status string

// The statuses.
const (
	InProgress Status = "InProgress"
	Succeeded  Status = "Succeeded"
	Failed     Status = "Failed"
	Stopped    Status = "Stopped"
	Superseded Status = "Superseded"
	// NotStarted marks a stage the execution has not reached (yet).
	NotStarted Status = "NotStarted"
)

// Done reports whether the status is final.
func (s Status) Done() bool {
	return s == Succeeded || s == Failed || s == Stopped || s == Superseded
}

// Execution is one run of Source → Build → Deploy for one tag.
type Execution struct {
	ID      string `json:"id"`
	Tag     string `json:"tag"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
	// Trigger says what started it: poll, webhook or manual.
	Trigger string     `json:"trigger"`
	Status  Status     `json:"status"`
	Stages  []StageRun `json:"stages"`
	// Outputs of the stages: the image the build pushed, the deployment it started.
	Image        string    `json:"image,omitempty"`
	DeploymentID string    `json:"deploymentId,omitempty"`
	Error        string    `json:"error,omitempty"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end,omitzero"`
}

// UnmarshalJSON also reads "deployment_id", the key executions were
// stored with before every key was camelCase.
func (e *Execution) UnmarshalJSON(data []byte) error {
	type plain Execution
	v := struct {
		*plain
		OldDeploymentID string `json:"deployment_id"`
	}{plain: (*plain)(e)}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	if e.DeploymentID == "" {
		e.DeploymentID = v.OldDeploymentID
	}
	return nil
}

// StageRun is how one stage of an execution went.
type StageRun struct {
	Name   string    `json:"name"`
	Status Status    `json:"status"`
	Start  time.Time `json:"start,omitzero"`
	End    time.Time `json:"end,omitzero"`
	Error  string    `json:"error,omitempty"`
}

// Stage returns the run of the named stage, or nil.
func (e *Execution) Stage(name string) *StageRun {
	for i := range e.Stages {
		if e.Stages[i].Name == name {
			return &e.Stages[i]
		}
	}
	return nil
}

// StageSummary is the stages on one line, each as name:status, such as
// "Source:Succeeded Build:InProgress Deploy:NotStarted".
func (e *Execution) StageSummary() string {
	parts := make([]string, 0, len(e.Stages))
	for _, s := range e.Stages {
		parts = append(parts, s.Name+":"+string(s.Status))
	}
	return strings.Join(parts, " ")
}

// ErrNotFound is returned for an execution ID that does not exist.
var ErrNotFound = errors.New("no such execution")

// Executions persists executions and their stage logs in the store.
type Executions struct {
	st *store.Store
}

// NewExecutions returns the execution records of st.
func NewExecutions(st *store.Store) *Executions { return &Executions{st: st} }

// Create assigns an ID and saves e.
func (x *Executions) Create(e *Execution) error {
	return x.st.Update(func(tx *store.Tx) error {
		n, err := tx.NextSeq("execution")
		if err != nil {
			return err
		}
		e.ID = fmt.Sprintf("e-%06d", n)
		return tx.Put(store.Executions, e.ID, e)
	})
}

// Save writes e (already created).
func (x *Executions) Save(e *Execution) error {
	return x.st.Update(func(tx *store.Tx) error { return tx.Put(store.Executions, e.ID, e) })
}

// Get reads one execution.
func (x *Executions) Get(id string) (*Execution, error) {
	var e Execution
	var found bool
	err := x.st.View(func(tx *store.Tx) error {
		var err error
		found, err = tx.Get(store.Executions, id, &e)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("execution %s: %w", id, ErrNotFound)
	}
	return &e, nil
}

// List returns every execution, oldest first.
func (x *Executions) List() ([]Execution, error) {
	var out []Execution
	err := x.st.View(func(tx *store.Tx) error {
		var err error
		out, err = store.List[Execution](tx, store.Executions, "e-")
		return err
	})
	return out, err
}

// Prune deletes the oldest finished executions beyond the newest keep,
// with their logs and log counters, in one transaction, and returns their
// IDs. An execution still in progress is never deleted.
func (x *Executions) Prune(keep int) ([]string, error) {
	var gone []string
	err := x.st.Update(func(tx *store.Tx) error {
		all, err := store.List[Execution](tx, store.Executions, "e-")
		if err != nil {
			return err
		}
		for _, e := range all[:max(len(all)-keep, 0)] {
			if !e.Status.Done() {
				continue
			}
			var logKeys []string
			if err := tx.Scan(store.Logs, e.ID+"/", func(key string, _ []byte) error {
				logKeys = append(logKeys, key)
				return nil
			}); err != nil {
				return err
			}
			for _, k := range logKeys {
				if err := tx.Delete(store.Logs, k); err != nil {
					return err
				}
			}
			if err := tx.DeleteSeq("log/" + e.ID); err != nil {
				return err
			}
			if err := tx.Delete(store.Executions, e.ID); err != nil {
				return err
			}
			gone = append(gone, e.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("prune executions: %w", err)
	}
	return gone, nil
}

// logChunk is one piece of a stage log.
type logChunk struct {
	Data []byte `json:"d"`
}

// AppendLog adds output to a stage's log.
func (x *Executions) AppendLog(id, stage string, p []byte) error {
	return x.st.Update(func(tx *store.Tx) error {
		n, err := tx.NextSeq("log/" + id)
		if err != nil {
			return err
		}
		return tx.Put(store.Logs, fmt.Sprintf("%s/%s/%09d", id, stage, n), logChunk{Data: p})
	})
}

// Log returns the log of one stage ("" for all stages, in the order written).
func (x *Executions) Log(id, stage string) ([]byte, error) {
	prefix := id + "/"
	if stage != "" {
		prefix += stage + "/"
	}
	type keyed struct {
		seq  string
		data []byte
	}
	var chunks []keyed
	err := x.st.View(func(tx *store.Tx) error {
		return tx.Scan(store.Logs, prefix, func(key string, raw []byte) error {
			var c logChunk
			if err := json.Unmarshal(raw, &c); err != nil {
				return err
			}
			chunks = append(chunks, keyed{seq: key[len(key)-9:], data: c.Data})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(chunks, func(a, b keyed) int { return strings.Compare(a.seq, b.seq) })
	var out []byte
	for _, c := range chunks {
		out = append(out, c.data...)
	}
	return out, nil
}

// SeenStore returns a SeenStore for the named source.
func (x *Executions) SeenStore(source string) SeenStore { return &storeSeen{st: x.st, name: source} }

type storeSeen struct {
	st   *store.Store
	name string
}

func (s *storeSeen) LoadSeen(context.Context) (map[string]string, bool, error) {
	var tags map[string]string
	var found bool
	err := s.st.View(func(tx *store.Tx) error {
		var err error
		found, err = tx.Get(store.Sources, s.name, &tags)
		return err
	})
	if tags == nil && found {
		tags = map[string]string{}
	}
	return tags, found, err
}

func (s *storeSeen) SaveSeen(_ context.Context, tags map[string]string) error {
	return s.st.Update(func(tx *store.Tx) error { return tx.Put(store.Sources, s.name, tags) })
}
