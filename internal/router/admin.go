package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// WeightRequest is the body of PUT /weights on the admin endpoint: either
// green alone (blue gets the rest) or both.
type WeightRequest struct {
	Blue  *int `json:"blue,omitempty"`
	Green *int `json:"green"`
}

// TargetRequest is the body of POST and DELETE /targets.
type TargetRequest struct {
	Group Group  `json:"group"`
	URL   string `json:"url"`
}

// AdminHandler serves the control API of `canaryflow proxy`:
//
//	GET  /weights    current weights (per-mille)       PUT /weights {"green":250}
//	GET  /snapshot   targets, health and counters
//	POST /targets    {"group":"green","url":"http://127.0.0.1:9003"}
//	DELETE /targets  same body: start draining
//	GET  /metrics    Prometheus text format
//
// and, for a controller that keys target groups by task set:
//
//	GET    /state          State: every group's targets and the routing
//	GET    /routing        Routing            PUT /routing RoutingRequest
//	GET    /groups/{name}  GroupSnapshot      PUT /groups/{name} {"targets":[…]}
//	DELETE /groups/{name}  drain and forget; ?wait=1 answers once drained
//
// Every request passes the checks of AdminOptions first (host, site,
// bearer token, JSON body): see guardAdmin. o.Addr is refused as a target
// from then on.
func (rt *Router) AdminHandler(o AdminOptions) http.Handler {
	if o.Addr != "" {
		rt.self.add(o.Addr)
	}
	mux := http.NewServeMux()
	for pattern, h := range o.Extra {
		mux.Handle(pattern, h)
	}
	mux.Handle("GET /metrics", rt.MetricsHandler())
	mux.HandleFunc("GET /weights", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, rt.Weights()) })
	mux.HandleFunc("PUT /weights", func(w http.ResponseWriter, r *http.Request) {
		var req WeightRequest
		if !readJSON(w, r, &req) {
			return
		}
		if req.Green == nil {
			writeJSON(w, http.StatusBadRequest, errorBody{"want {\"green\": per-mille} or {\"blue\": n, \"green\": m}"})
			return
		}
		wt := GreenWeights(*req.Green)
		if req.Blue != nil {
			wt.Blue = *req.Blue
		}
		if err := rt.SetWeights(wt); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, rt.Weights())
	})
	mux.HandleFunc("GET /snapshot", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, rt.Snapshot()) })
	mux.HandleFunc("POST /targets", func(w http.ResponseWriter, r *http.Request) {
		var req TargetRequest
		if !readJSON(w, r, &req) {
			return
		}
		if err := rt.Register(req.Group, req.URL); err != nil {
			writeJSON(w, statusOf(err), errorBody{err.Error()})
			return
		}
		writeJSON(w, http.StatusCreated, req)
	})
	mux.HandleFunc("DELETE /targets", func(w http.ResponseWriter, r *http.Request) {
		var req TargetRequest
		if !readJSON(w, r, &req) {
			return
		}
		if _, err := rt.Deregister(req.Group, req.URL); err != nil {
			writeJSON(w, statusOf(err), errorBody{err.Error()})
			return
		}
		writeJSON(w, http.StatusAccepted, req)
	})
	rt.groupRoutes(mux)
	return guardAdmin(o, mux)
}

// RoutingRequest is the body of PUT /routing: the fields given change, the
// others keep their value. GreenWeight is per-mille; blue gets the rest.
type RoutingRequest struct {
	Blue        *string `json:"blue,omitempty"`
	Green       *string `json:"green,omitempty"`
	Test        *string `json:"test,omitempty"`
	GreenWeight *int    `json:"green_weight,omitempty"`
}

// GroupRequest is the body of PUT /groups/{name}: every target the group
// is to hold.
type GroupRequest struct {
	Targets []string `json:"targets"`
}

func (rt *Router) groupRoutes(mux *http.ServeMux) {
	var routing sync.Mutex // one PUT /routing at a time: each reads, then writes
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, rt.State()) })
	mux.HandleFunc("GET /routing", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, rt.Routing()) })
	mux.HandleFunc("PUT /routing", func(w http.ResponseWriter, r *http.Request) {
		var req RoutingRequest
		if !readJSON(w, r, &req) {
			return
		}
		routing.Lock()
		defer routing.Unlock()
		next := rt.Routing()
		for _, f := range []struct {
			v   *string
			dst *string
		}{{req.Blue, &next.Blue}, {req.Green, &next.Green}, {req.Test, &next.Test}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
		if req.GreenWeight != nil {
			next.Weights = GreenWeights(*req.GreenWeight)
		}
		if err := rt.Route(next); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, rt.Routing())
	})
	mux.HandleFunc("GET /groups/{name}", func(w http.ResponseWriter, r *http.Request) {
		snap, ok := rt.GroupSnapshot(r.PathValue("name"))
		if !ok {
			writeJSON(w, http.StatusNotFound, errorBody{fmt.Sprintf("target group %s: %v", r.PathValue("name"), ErrUnknownGroup)})
			return
		}
		writeJSON(w, http.StatusOK, snap)
	})
	mux.HandleFunc("PUT /groups/{name}", func(w http.ResponseWriter, r *http.Request) {
		var req GroupRequest
		if !readJSON(w, r, &req) {
			return
		}
		if err := rt.SetGroup(r.PathValue("name"), req.Targets); err != nil {
			writeJSON(w, statusOf(err), errorBody{err.Error()})
			return
		}
		snap, _ := rt.GroupSnapshot(r.PathValue("name"))
		writeJSON(w, http.StatusOK, snap)
	})
	mux.HandleFunc("DELETE /groups/{name}", func(w http.ResponseWriter, r *http.Request) {
		done, err := rt.RemoveGroup(r.PathValue("name"))
		if err != nil {
			writeJSON(w, statusOf(err), errorBody{err.Error()})
			return
		}
		if r.URL.Query().Get("wait") != "" {
			select {
			case <-done:
			case <-r.Context().Done():
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

type errorBody struct {
	Error string `json:"error"`
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrUnknownTarget), errors.Is(err, ErrUnknownGroup):
		return http.StatusNotFound
	case errors.Is(err, ErrGroupInUse):
		return http.StatusConflict
	case errors.Is(err, ErrTargetExists):
		return http.StatusConflict
	case errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{fmt.Sprintf("decode request: %v", err)})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
