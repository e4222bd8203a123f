package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	awsbackend "github.com/canaryflow/canaryflow/internal/aws"
	"github.com/canaryflow/canaryflow/internal/watchview"
)

// A schema is a small description of a JSON document, checked by
// checkSchema:
//
//	"string", "number", "bool"  a value of that kind
//	"time"                      an RFC 3339 string
//	"duration"                  a Go duration string ("5m0s")
//	"map"                       an object with keys of any form (labels, hooks by event)
//	"any"                       anything (still held to the style rules)
//	[]any{S}                    a list (never null) whose items match S
//	map[string]any{...}         an object with at least these keys
//
// Whatever the schema, the document is held to canaryflow's one JSON style:
// camelCase keys, no null anywhere (lists are [], absent things are left
// out), and every key with a …Seconds sibling is a duration string.
type schema = any

var camelCase = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

func checkSchema(t *testing.T, what string, doc any, s schema) {
	t.Helper()
	var errs []string
	walkSchema(&errs, "$", doc, s)
	for _, e := range errs {
		t.Errorf("%s: %s", what, e)
	}
}

func walkSchema(errs *[]string, path string, v any, s schema) {
	fail := func(format string, a ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, a...)) }
	if v == nil {
		fail("null (a list is [], an absent value is left out)")
		return
	}
	switch s := s.(type) {
	case string:
		switch s {
		case "string", "time", "duration":
			str, ok := v.(string)
			if !ok {
				fail("want %s, got %T", s, v)
				return
			}
			if _, err := time.Parse(time.RFC3339Nano, str); s == "time" && err != nil {
				fail("want an RFC 3339 time, got %q", str)
			}
			if _, err := time.ParseDuration(str); s == "duration" && err != nil {
				fail("want a duration such as 5m0s, got %q", str)
			}
		case "number":
			if _, ok := v.(float64); !ok {
				fail("want a number, got %T", v)
			}
		case "bool":
			if _, ok := v.(bool); !ok {
				fail("want true or false, got %T", v)
			}
		case "map":
			m, ok := v.(map[string]any)
			if !ok {
				fail("want an object, got %T", v)
				return
			}
			for k, x := range m {
				walkSchema(errs, path+"."+k, x, "any")
			}
		case "any":
			walkStyle(errs, path, v)
		default:
			panic("schema kind " + s)
		}
	case []any:
		xs, ok := v.([]any)
		if !ok {
			fail("want a list, got %T", v)
			return
		}
		for i, x := range xs {
			walkSchema(errs, fmt.Sprintf("%s[%d]", path, i), x, s[0])
		}
	case map[string]any:
		m, ok := v.(map[string]any)
		if !ok {
			fail("want an object, got %T", v)
			return
		}
		for k, sub := range s {
			x, ok := m[k]
			if !ok {
				fail("no key %q", k)
				continue
			}
			walkSchema(errs, path+"."+k, x, sub)
		}
		for k, x := range m {
			if _, ok := s[k]; !ok {
				walkObjectKey(errs, path, m, k)
				walkSchema(errs, path+"."+k, x, "any")
			} else {
				walkObjectKey(errs, path, m, k)
			}
		}
	default:
		panic(fmt.Sprintf("schema %T", s))
	}
}

// walkStyle holds a value of any shape to the style rules.
func walkStyle(errs *[]string, path string, v any) {
	switch v := v.(type) {
	case nil:
		*errs = append(*errs, path+": null (a list is [], an absent value is left out)")
	case []any:
		for i, x := range v {
			walkStyle(errs, fmt.Sprintf("%s[%d]", path, i), x)
		}
	case map[string]any:
		for k, x := range v {
			walkObjectKey(errs, path, v, k)
			walkStyle(errs, path+"."+k, x)
		}
	}
}

// walkObjectKey checks one key of an object: camelCase, and a duration
// string when a …Seconds number sits beside it.
func walkObjectKey(errs *[]string, path string, m map[string]any, k string) {
	if !camelCase.MatchString(k) {
		*errs = append(*errs, fmt.Sprintf("%s: key %q is not camelCase", path, k))
	}
	if secs, ok := m[k+"Seconds"]; ok {
		str, isStr := m[k].(string)
		if _, err := time.ParseDuration(str); !isStr || err != nil {
			*errs = append(*errs, fmt.Sprintf("%s.%s: want a duration string beside %sSeconds, got %v", path, k, k, m[k]))
		}
		if _, ok := secs.(float64); !ok {
			*errs = append(*errs, fmt.Sprintf("%s.%sSeconds: want a number, got %T", path, k, secs))
		}
	}
}

// runDoc runs canaryflow with -o json and -o yaml and returns the JSON
// document, failing unless both succeed and say the same thing.
func runDoc(t *testing.T, ctx context.Context, args ...string) any {
	t.Helper()
	var out, errb bytes.Buffer
	if code := Run(ctx, append(args, "-o", "json"), strings.NewReader(""), &out, &errb); code != ExitOK {
		t.Fatalf("canaryflow %s -o json = %d:\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	var doc any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("canaryflow %s -o json: not one JSON document: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	out.Reset()
	if code := Run(ctx, append(args, "-o", "yaml"), strings.NewReader(""), &out, &errb); code != ExitOK {
		t.Fatalf("canaryflow %s -o yaml = %d:\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	// Compare through JSON: YAML numbers decode as ints, JSON's as floats.
	var ynorm any
	ydata, err := yaml.YAMLToJSON(out.Bytes())
	if err == nil {
		err = json.Unmarshal(ydata, &ynorm)
	}
	if err != nil || !reflect.DeepEqual(ynorm, doc) {
		t.Errorf("canaryflow %s: -o yaml and -o json differ (%v):\n%s", strings.Join(args, " "), err, out.String())
	}
	return doc
}

// TestLocalOutputSchemas checks -o json (and that -o yaml is the same
// document) of the commands that need no daemon.
func TestLocalOutputSchemas(t *testing.T) {
	gitEnv(t)
	t.Setenv("CANARYFLOW_STATE_DIR", t.TempDir())
	t.Setenv("CANARYFLOW_REGISTRY_ADDR", "127.0.0.1:0")
	dir := t.TempDir()
	t.Chdir(dir)
	gitRun(t, dir, "init", "-q")
	ctx := context.Background()
	for _, args := range [][]string{{"flow", "init"}, {"flow", "feature", "start", "login"}} {
		if code, out := run(t, dir, args...); code != ExitOK {
			t.Fatalf("%v = %d: %s", args, code, out)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte("1.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	checkSchema(t, "flow status", runDoc(t, ctx, "flow", "status"), map[string]any{
		"branch": "string", "branchType": "string", "latestRelease": "string", "nextPatch": "string", "nextMinor": "string",
		"nextMajor": "string", "skippedTags": []any{"string"}, "openBranches": []any{"string"}, "inProgress": "string"})
	list := runDoc(t, ctx, "flow", "feature", "list")
	checkSchema(t, "flow feature list", list, []any{map[string]any{"name": "string", "current": "bool"}})
	if l, _ := list.([]any); len(l) != 1 {
		t.Errorf("flow feature list: %v, want the one branch", list)
	}
	checkSchema(t, "version check", runDoc(t, ctx, "version", "check", "1.0.0"), map[string]any{
		"want": "string", "source": "string", "files": []any{"string"}, "ok": "bool",
		"mismatches": []any{map[string]any{"file": "string"}}})
	checkSchema(t, "image ls", runDoc(t, ctx, "image", "ls"), []any{map[string]any{
		"repository": "string", "tags": []any{"string"}, "digest": "string", "sizeBytes": "number", "pushedAt": "time"}})
	checkSchema(t, "task ls", runDoc(t, ctx, "task", "ls", "--runtime", "process"), []any{map[string]any{
		"id": "string", "runtime": "string", "image": "string", "addr": "string", "labels": "map", "state": "string", "startedAt": "time"}})
}

// TestSchemaCatchesStyleFaults makes sure the checker fails on what it is
// there to catch, so the tests above cannot pass by checking nothing.
func TestSchemaCatchesStyleFaults(t *testing.T) {
	for _, tc := range []struct {
		doc string
		s   schema
	}{
		{`{"services": null}`, map[string]any{"services": []any{"any"}}},
		{`{"strategy": {"Type": "x"}}`, "any"},
		{`{"readyWait": 3600000000000, "readyWaitSeconds": 3600}`, "any"},
		{`{"deployment_id": "d"}`, "any"},
		{`{"at": "yesterday"}`, map[string]any{"at": "time"}},
		{`[1]`, []any{"string"}},
	} {
		var doc any
		if err := json.Unmarshal([]byte(tc.doc), &doc); err != nil {
			t.Fatal(err)
		}
		var errs []string
		walkSchema(&errs, "$", doc, tc.s)
		if len(errs) == 0 {
			t.Errorf("%s passed", tc.doc)
		}
	}
}

// TestDaemonOutputSchemas runs the real daemon and checks -o json (and
// yaml) of its list and status commands after one deployment: deploy list,
// deploy status, status, and image ls and task ls with something in them.
// (pipeline list is checked by TestWatchNewestExecutionWithoutDeployment,
// whose daemon runs a pipeline.)
func TestDaemonOutputSchemas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image and runs a daemon; skipped with -short")
	}
	d := startFollowDaemon(t, t.TempDir(), map[string]string{
		"canaryflow.yaml": quickCanaryYAML + "  alarms: {period: 250ms, promote_without_traffic: true}\n",
		"hello/go.mod":    "module example.com/hello\n\ngo 1.22\n",
		"hello/main.go":   helloMain,
	}, nil)
	d.run("image", "build", "--tag", "v1.0.0", "--version", "1.0.0", "hello")
	d.run("deploy", "create", "--image", "hello:v1.0.0", "--wait", "--connect-timeout", "60s")

	strategy := map[string]any{"type": "string", "percent": "number", "interval": "duration", "intervalSeconds": "number"}
	deployment := map[string]any{
		"deploymentId": "string", "service": "string", "revision": "number", "previousRevision": "number", "status": "string",
		"step": "string", "greenPercent": "number", "createTime": "time", "creator": "string", "alarm": "any",
		"settings": map[string]any{"strategy": strategy, "readyWait": "duration", "readyWaitSeconds": "number",
			"terminationWait": "duration", "terminationWaitSeconds": "number", "autoRollback": []any{"string"},
			"alarms": map[string]any{"period": "duration", "periodSeconds": "number"}},
	}
	checkSchema(t, "deploy list", runDoc(t, d.ctx, "deploy", "list"), []any{deployment})
	checkSchema(t, "deploy status", runDoc(t, d.ctx, "deploy", "status", "d-000001"), map[string]any{
		"deployment": deployment, "lifecycleEvents": []any{map[string]any{"lifecycleEventName": "string", "status": "string"}},
		"image": "string"})
	checkSchema(t, "status", runDoc(t, d.ctx, "status"), map[string]any{
		"services": []any{map[string]any{"service": "string", "liveRevision": "number"}},
		"traffic":  map[string]any{"greenPercent": "number", "blue": "any", "green": "any"}})
	checkSchema(t, "image ls", runDoc(t, d.ctx, "image", "ls"), []any{map[string]any{
		"repository": "string", "tags": []any{"string"}, "digest": "string", "sizeBytes": "number", "pushedAt": "time"}})
	checkSchema(t, "task ls", runDoc(t, d.ctx, "task", "ls", "--runtime", "process"), []any{map[string]any{
		"id": "string", "runtime": "string", "image": "string", "addr": "string", "labels": "map", "state": "string", "startedAt": "time"}})
}

// TestAWSOutputSchemas checks the documents of aws plan -o json and aws
// status -o json (their commands need an AWS endpoint, tested with
// moto_server in internal/aws; here, the documents they print).
func TestAWSOutputSchemas(t *testing.T) {
	plan := &awsbackend.Plan{Items: []awsbackend.PlanItem{
		{Kind: "ecr repository", Name: "hello", Change: awsbackend.ChangeCreate},
		{Kind: "iam role", Name: "hello-task", Change: awsbackend.ChangeNone},
	}}
	doc := toJSONDoc(t, newPlanDoc(plan))
	checkSchema(t, "aws plan", doc, map[string]any{"changes": "number",
		"items": []any{map[string]any{"kind": "string", "name": "string", "change": "string"}}})
	if doc.(map[string]any)["changes"] != 1.0 {
		t.Errorf("aws plan: %v, want 1 change", doc)
	}
	checkSchema(t, "aws plan, nothing to do", toJSONDoc(t, newPlanDoc(&awsbackend.Plan{})), map[string]any{"items": []any{"any"}})

	st := &watchview.Deployment{ID: "d-ABCDEF123", Service: "hello", Status: "InProgress", Step: "AllowTraffic", GreenPercent: 10,
		Events:  []watchview.Event{{Name: "Install", Status: "Succeeded", Start: time.Now(), End: time.Now()}},
		Traffic: &watchview.Traffic{GreenPercent: 10}}
	checkSchema(t, "aws status", toJSONDoc(t, st), map[string]any{"id": "string", "status": "string", "greenPercent": "number",
		"lifecycleEvents": []any{map[string]any{"name": "string", "status": "string", "start": "time", "end": "time"}}})
}

func toJSONDoc(t *testing.T, v any) any {
	t.Helper()
	var buf bytes.Buffer
	o := output{format: "json"}
	if err := o.print(&buf, v, nil); err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}
