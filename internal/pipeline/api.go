package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/canaryflow/canaryflow/internal/git"
)

// API serves executions over HTTP for the daemon (mounted under /v1/):
//
//	GET  /v1/executions              list, newest first
//	GET  /v1/executions/{id}         one execution
//	GET  /v1/executions/{id}/logs    its log; ?follow=1 streams until it ends
//	POST /v1/executions              {"tag": "v1.2.3"} start (idempotent per tag)
type API struct {
	Runner     *Runner
	Executions *Executions
	// Resolve looks a tag up at the source and checks it triggers (strict
	// SemVer, on main); required for POST.
	Resolve func(ctx context.Context, tag string) (Release, error)
	// Poll is how often a followed log is re-read; zero means 200ms.
	Poll time.Duration
	// WriteTimeout bounds each write of a log to its client: one that
	// stops reading is cut off after it rather than holding the stream
	// (and its goroutine) until the execution ends. It is set per write,
	// not on the server, so a long follow that is read is never cut.
	// Zero means 30s.
	WriteTimeout time.Duration
}

// Register adds the API's routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/executions", a.list)
	mux.HandleFunc("GET /v1/executions/{id}", a.get)
	mux.HandleFunc("GET /v1/executions/{id}/logs", a.logs)
	mux.HandleFunc("POST /v1/executions", a.start)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func (a *API) list(w http.ResponseWriter, _ *http.Request) {
	all, err := a.Executions.List()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	if all == nil {
		all = []Execution{}
	}
	writeJSON(w, http.StatusOK, all)
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	e, err := a.Executions.Get(r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (a *API) logs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.Executions.Get(id); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, ErrNotFound) {
			code = http.StatusNotFound
		}
		writeError(w, code, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	follow := r.URL.Query().Get("follow") == "1"
	sent := 0
	poll := a.Poll
	if poll == 0 {
		poll = 200 * time.Millisecond
	}
	writeTimeout := a.WriteTimeout
	if writeTimeout == 0 {
		writeTimeout = 30 * time.Second
	}
	rc := http.NewResponseController(w)
	// The connection may serve another request after this one, and the
	// server sets no write deadline of its own to replace this one's.
	defer rc.SetWriteDeadline(time.Time{})
	send := func(p []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(p); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	for {
		log, err := a.Executions.Log(id, "")
		if err != nil {
			return
		}
		if len(log) > sent {
			if !send(log[sent:]) {
				return
			}
			sent = len(log)
		}
		if !follow {
			return
		}
		e, err := a.Executions.Get(id)
		if err != nil || e.Status.Done() {
			// One last read: the final lines were written before the status.
			if log, err := a.Executions.Log(id, ""); err == nil && len(log) > sent {
				send(log[sent:])
			}
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(poll):
		}
	}
}

func (a *API) start(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Tag string `json:"tag"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "want a JSON body {\"tag\": \"vX.Y.Z\"}")
		return
	}
	if a.Resolve == nil {
		writeError(w, http.StatusServiceUnavailable, "no source is configured")
		return
	}
	rel, err := a.Resolve(r.Context(), req.Tag)
	if err != nil {
		code := http.StatusBadRequest
		var ge *git.Error
		if errors.As(err, &ge) {
			code = http.StatusBadGateway
		}
		writeError(w, code, err.Error())
		return
	}
	// The execution outlives this request: it belongs to the daemon.
	e, started, err := a.Runner.Start(context.WithoutCancel(r.Context()), rel, "manual")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	code := http.StatusOK
	if started {
		code = http.StatusCreated
	}
	writeJSON(w, code, e)
}

// ErrTagNotFound is returned by Source.Resolve for a tag the remote lacks.
var ErrTagNotFound = errors.New("tag not found on the remote")

// Resolve finds tag on the remote and checks it would trigger: strict
// SemVer, passing the filter, its commit on main. It is how a manual
// `pipeline start --tag` gets the same checks as a pushed tag.
func (s *Source) Resolve(ctx context.Context, tag string) (Release, error) {
	v, reason := s.opts.Trigger.Match(tag)
	if v == nil {
		return Release{}, errors.New("tag " + quote(tag) + " does not trigger: " + reason)
	}
	remote, err := lsRemoteTags(ctx, &git.Repo{Dir: s.tempDir()}, s.opts.URL)
	if err != nil {
		return Release{}, err
	}
	sha, ok := remote[tag]
	if !ok {
		return Release{}, errors.New(tag + ": " + ErrTagNotFound.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fetch(ctx); err != nil {
		return Release{}, err
	}
	onMain, err := s.mirror.IsAncestor(ctx, sha, "refs/heads/"+s.opts.MainBranch)
	if err != nil {
		return Release{}, err
	}
	if !onMain {
		return Release{}, errors.New(tag + ": its commit is not reachable from " + s.opts.MainBranch)
	}
	return Release{Tag: tag, Version: v, Commit: sha}, nil
}

func quote(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return "\"" + strings.ReplaceAll(s, "\"", "\\\"") + "\""
}
