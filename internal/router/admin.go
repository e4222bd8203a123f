package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
	return guardAdmin(o, mux)
}

type errorBody struct {
	Error string `json:"error"`
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrUnknownTarget):
		return http.StatusNotFound
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
