package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/canaryflow/canaryflow/internal/flow"
	"github.com/canaryflow/canaryflow/internal/pipeline"
)

func (d *session) say(format string, a ...any) { fmt.Fprintf(d.out, format+"\n", a...) }

// cmd shows a step as the command a person would type.
func (d *session) cmd(line string) { d.say("  $ %s", line) }

// editMain applies a change to main.go and commits it.
func (d *session) editMain(ctx context.Context, msg string, edits ...[2]string) error {
	path := filepath.Join(d.repo.Dir, "main.go")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	src := string(b)
	for _, e := range edits {
		if !strings.Contains(src, e[0]) {
			return fmt.Errorf("demo edit %q: main.go has no %q", msg, e[0])
		}
		src = strings.Replace(src, e[0], e[1], 1)
	}
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		return err
	}
	d.say("  (edit main.go; git commit -m %q)", msg)
	return d.repo.Commit(ctx, msg, "main.go")
}

// release cuts and finishes a release with the Gitflow commands and
// returns when the tag was pushed.
func (d *session) release(ctx context.Context, version string) (time.Time, error) {
	if version == "" {
		d.cmd("canaryflow flow release start          # version from the Conventional Commits since the last tag")
	} else {
		d.cmd("canaryflow flow release start " + version)
	}
	if err := d.flow.ReleaseStart(ctx, flow.StartOptions{Version: version}); err != nil {
		return time.Time{}, err
	}
	cur, err := d.repo.CurrentBranch(ctx)
	if err != nil {
		return time.Time{}, err
	}
	d.cmd("canaryflow flow release finish --push   # merge to main, tag v" + strings.TrimPrefix(cur, "release/") + ", back-merge, push")
	if err := d.flow.ReleaseFinish(ctx, flow.FinishOptions{Push: true}); err != nil {
		return time.Time{}, err
	}
	return time.Now(), nil
}

func (d *session) releaseOne(ctx context.Context) error {
	d.say("① Release v1.0.0 — the first deployment")
	pushed, err := d.release(ctx, "1.0.0")
	if err != nil {
		return err
	}
	e, err := d.follow(ctx, "v1.0.0", pushed, "")
	if err != nil {
		return err
	}
	d.rows = append(d.rows, row{tag: "v1.0.0", outcome: outcome(e)})
	if e.Status != pipeline.Succeeded {
		return fmt.Errorf("v1.0.0 did not deploy: %s (see daemon.log, or run with --keep)", e.Error)
	}
	d.say("  production answers: %s\n", d.get())
	return nil
}

func (d *session) releaseTwo(ctx context.Context) error {
	d.say("② A feature, then v1.1.0 — a 10%% canary, then 100%%, under load (%d rps)", d.o.RPS)
	d.cmd("canaryflow flow feature start greeting")
	if err := d.flow.FeatureStart(ctx, "greeting"); err != nil {
		return err
	}
	if err := d.editMain(ctx, "feat: add GET /greet", [2]string{`	mux.HandleFunc("GET /healthz"`,
		"\tmux.HandleFunc(\"GET /greet\", func(w http.ResponseWriter, r *http.Request) {\n\t\tio.WriteString(w, \"Hello from canaryflow\\n\")\n\t})\n\tmux.HandleFunc(\"GET /healthz\""}); err != nil {
		return err
	}
	d.cmd("canaryflow flow feature finish")
	if err := d.flow.FeatureFinish(ctx, "greeting", false); err != nil {
		return err
	}
	pushed, err := d.release(ctx, "")
	if err != nil {
		return err
	}
	e, err := d.follow(ctx, "v1.1.0", pushed, "1.1.0")
	if err != nil {
		return err
	}
	row := row{tag: "v1.1.0", outcome: outcome(e)}
	if first := d.load.firstSeen("1.1.0"); !first.IsZero() {
		row.tagToCanary = first.Sub(pushed)
	}
	d.rows = append(d.rows, row)
	if e.Status != pipeline.Succeeded {
		return fmt.Errorf("v1.1.0 did not deploy: %s (see daemon.log, or run with --keep)", e.Error)
	}
	d.say("  production answers: %s\n", d.get())
	return nil
}

func (d *session) releaseThree(ctx context.Context) error {
	d.say("③ v1.2.0 — a release with a bug: its error rate climbs and the alarm rolls it back")
	d.cmd("canaryflow flow feature start fast-path")
	if err := d.flow.FeatureStart(ctx, "fast-path"); err != nil {
		return err
	}
	if err := d.editMain(ctx, "feat: a faster path for GET /",
		[2]string{"\t\"os/signal\"\n", "\t\"os/signal\"\n\t\"sync/atomic\"\n"},
		[2]string{"// version is stamped", "// calls counts requests to GET / (the bug below).\nvar calls atomic.Int64\n\n// version is stamped"},
		[2]string{"\t\tfmt.Fprintf(w, \"Version: %s\\n\", ver)", "\t\tif calls.Add(1)%2 == 0 { // the bug: every other request fails\n\t\t\thttp.Error(w, \"internal error\", http.StatusInternalServerError)\n\t\t\treturn\n\t\t}\n\t\tfmt.Fprintf(w, \"Version: %s\\n\", ver)"},
	); err != nil {
		return err
	}
	d.cmd("canaryflow flow feature finish")
	if err := d.flow.FeatureFinish(ctx, "fast-path", false); err != nil {
		return err
	}
	pushed, err := d.release(ctx, "")
	if err != nil {
		return err
	}
	e, err := d.follow(ctx, "v1.2.0", pushed, "1.2.0")
	if err != nil {
		return err
	}
	row := row{tag: "v1.2.0", outcome: outcome(e)}
	if first := d.load.firstSeen("1.2.0"); !first.IsZero() {
		row.tagToCanary = first.Sub(pushed)
	}
	fault, last := d.load.firstFault("1.2.0"), d.load.lastSeen("1.2.0")
	if !fault.IsZero() && !last.IsZero() {
		row.faultRollback = last.Sub(fault)
	}
	d.rows = append(d.rows, row)
	if e.Status == pipeline.Succeeded {
		return errors.New("v1.2.0 was not rolled back: the alarm did not fire (see daemon.log, or run with --keep)")
	}
	d.say("  production answers: %s (v1.2.0 rolled back; 1.1.0 kept serving)\n", d.get())
	return nil
}

// get returns what production answers, for the narrative.
func (d *session) get() string {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + d.prod + "/")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return strings.TrimSpace(string(b))
}
