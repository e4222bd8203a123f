package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/release"
)

// Reload is canaryflow.yaml read again while the daemon runs (the CLI
// does it on SIGHUP): the new configuration, or why it could not be read.
type Reload struct {
	Config *config.Config
	Err    error
}

// ReloadResult is what one reload did.
type ReloadResult struct {
	// Err is why the file was refused; then nothing changed.
	Err error
	// Applied are the settings in force from now on.
	Applied []config.Change
	// Restart are the settings that differ from those in force and take
	// effect only when canaryflow up restarts; the old values stay.
	Restart []config.Change
}

// ConfigView is the configuration's state in GET /v1/status.
type ConfigView struct {
	// File is the configuration file the daemon runs with.
	File string `json:"file"`
	// Reloads counts the reloads asked for (SIGHUP), refused ones too.
	Reloads    int       `json:"reloads"`
	LastReload time.Time `json:"lastReload,omitzero"`
	// LastError is why the last reload was refused; "" when it was not.
	LastError string `json:"lastError,omitempty"`
	// PendingRestart are the changes in the file that wait for a restart
	// of canaryflow up, as "key changed old → new".
	PendingRestart []string `json:"pendingRestart,omitempty"`
}

// reloader applies reloads: the live settings go to the release use
// case; the others are reported as waiting for a restart.
type reloader struct {
	rel  *release.Releaser
	log  *slog.Logger
	done func(ReloadResult) // Options.Reloaded; nil: none

	mu   sync.Mutex
	cur  *config.Config // in force
	view ConfigView
}

func newReloader(cfg *config.Config, rel *release.Releaser, done func(ReloadResult), log *slog.Logger) *reloader {
	return &reloader{rel: rel, log: log, done: done, cur: cfg, view: ConfigView{File: cfg.Path}}
}

// run applies each reload from ch until ctx is done.
func (r *reloader) run(ctx context.Context, ch <-chan Reload) {
	for {
		select {
		case <-ctx.Done():
			return
		case rl := <-ch:
			res := r.apply(rl)
			if r.done != nil {
				r.done(res)
			}
		}
	}
}

func (r *reloader) apply(rl Reload) ReloadResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.view.Reloads++
	r.view.LastReload = time.Now()
	var res ReloadResult
	if rl.Err == nil && (rl.Config == nil || rl.Config.Service == nil) {
		rl.Err = &config.Error{Path: r.cur.Path, Field: "service", Msg: "missing: canaryflow up serves that service"}
	}
	if rl.Err != nil {
		res.Err = rl.Err
		r.view.LastError = rl.Err.Error()
		r.log.Error("canaryflow.yaml read again: refused, nothing changed", "err", rl.Err)
		return res
	}
	next, changes := config.Reload(r.cur, rl.Config)
	r.view.LastError, r.view.PendingRestart = "", nil
	for _, c := range changes {
		if c.Live {
			res.Applied = append(res.Applied, c)
			r.log.Info("canaryflow.yaml read again: applied", "change", c.String())
		} else {
			res.Restart = append(res.Restart, c)
			r.view.PendingRestart = append(r.view.PendingRestart, c.String())
			r.log.Warn("canaryflow.yaml read again: restart canaryflow up to apply", "change", c.String())
		}
	}
	r.cur = next
	r.rel.SetService(releaseService(next.Service))
	return res
}

// status is the configuration's state for GET /v1/status.
func (r *reloader) status() *ConfigView {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.view
	v.PendingRestart = append([]string(nil), v.PendingRestart...)
	return &v
}
