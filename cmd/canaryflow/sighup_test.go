package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/canaryflow/canaryflow/internal/server"
)

// sighup sends SIGHUP to the daemon of $CANARYFLOW_STATE_DIR (its PID is
// in daemon.json) and waits until the daemon has counted the reload in
// GET /v1/status, applied or refused, so the script's next command sees
// its outcome:
//
//	sighup
func sighup(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: sighup")
	}
	data, err := os.ReadFile(filepath.Join(ts.Getenv("CANARYFLOW_STATE_DIR"), server.InfoFile))
	ts.Check(err)
	var info server.Info
	ts.Check(json.Unmarshal(data, &info))
	c := &server.Client{Addr: info.API, Token: info.Token}
	reloads := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := c.Status(ctx)
		ts.Check(err)
		if st.Config == nil {
			ts.Fatalf("sighup: the daemon reports no configuration state")
		}
		return st.Config.Reloads
	}
	before := reloads()
	ts.Check(syscall.Kill(info.PID, syscall.SIGHUP))
	for deadline := time.Now().Add(30 * time.Second); reloads() == before; {
		if time.Now().After(deadline) {
			ts.Fatalf("sighup: the daemon (pid %d) did not reload within 30s", info.PID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
