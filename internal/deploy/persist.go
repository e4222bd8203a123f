package deploy

import (
	"fmt"
	"sort"

	"github.com/canaryflow/canaryflow/internal/store"
)

// Store is the persistence the controller writes every transition to
// before acting on it; *store.Store is the real one.
type Store interface {
	Update(fn func(*store.Tx) error) error
	View(fn func(*store.Tx) error) error
}

func revisionKey(service string, n int) string { return fmt.Sprintf("%s/%06d", service, n) }
func eventKey(id string, i int) string         { return fmt.Sprintf("%s/%02d", id, i) }
func taskSetKey(service, id string) string     { return service + "/" + id }

func getDeployment(tx *store.Tx, id string) (*Deployment, error) {
	var d Deployment
	found, err := tx.Get(store.Deployments, id, &d)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("deployment %s: %w", id, ErrNotFound)
	}
	return &d, nil
}

func putDeployment(tx *store.Tx, d *Deployment) error { return tx.Put(store.Deployments, d.ID, d) }

func getEvents(tx *store.Tx, id string) ([]LifecycleEvent, error) {
	return store.List[LifecycleEvent](tx, store.Events, id+"/")
}

func eventIndex(name string) int {
	for i, n := range LifecycleEventNames() {
		if n == name {
			return i
		}
	}
	panic("deploy: unknown lifecycle event " + name)
}

func putEvent(tx *store.Tx, id string, ev LifecycleEvent) error {
	return tx.Put(store.Events, eventKey(id, eventIndex(ev.Name)), ev)
}

func getEvent(tx *store.Tx, id, name string) (LifecycleEvent, error) {
	var ev LifecycleEvent
	found, err := tx.Get(store.Events, eventKey(id, eventIndex(name)), &ev)
	if err == nil && !found {
		err = fmt.Errorf("deployment %s event %s: %w", id, name, ErrNotFound)
	}
	return ev, err
}

func getTaskSet(tx *store.Tx, service, id string) (*TaskSet, error) {
	var ts TaskSet
	found, err := tx.Get(store.TaskSets, taskSetKey(service, id), &ts)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("task set %s/%s: %w", service, id, ErrNotFound)
	}
	return &ts, nil
}

func putTaskSet(tx *store.Tx, ts *TaskSet) error {
	return tx.Put(store.TaskSets, taskSetKey(ts.Service, ts.ID), ts)
}

// primaryTaskSet returns the service's PRIMARY task set, or nil.
func primaryTaskSet(tx *store.Tx, service string) (*TaskSet, error) {
	all, err := store.List[TaskSet](tx, store.TaskSets, service+"/")
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Status == TaskSetPrimary {
			return &all[i], nil
		}
	}
	return nil, nil
}

func getWeights(tx *store.Tx, service string) (Weights, error) {
	w := Weights{Service: service}
	_, err := tx.Get(store.Weights, service, &w)
	return w, err
}

func putWeights(tx *store.Tx, w Weights) error { return tx.Put(store.Weights, w.Service, w) }

func getRevision(tx *store.Tx, service string, n int) (*Revision, error) {
	var r Revision
	found, err := tx.Get(store.Revisions, revisionKey(service, n), &r)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("revision %s:%d: %w", service, n, ErrNotFound)
	}
	return &r, nil
}

// listDeployments returns the deployments of a service ("" for all),
// oldest first.
func listDeployments(tx *store.Tx, service string) ([]Deployment, error) {
	all, err := store.List[Deployment](tx, store.Deployments, "d-")
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, d := range all {
		if service == "" || d.Service == service {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
