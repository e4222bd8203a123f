package build

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/leakcheck"
)

func TestParseBuildspecErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"empty", "", "empty file"},
		{"no version", "phases:\n  build:\n    commands: [make]\n", "version: missing"},
		{"old version", "version: 0.1\nphases:\n  build:\n    commands: [make]\n", "b.yml:1: version: \"0.1\" is not supported"},
		{"no phases", "version: 0.2\n", "phases: missing"},
		{"unknown phase", "version: 0.2\nphases:\n  deploy:\n    commands: [x]\n", "b.yml:3: phases.deploy: unknown phase"},
		{"unknown key", "version: 0.2\nphases:\n  build:\n    comands: [x]\n", "b.yml:4"},
		{"bad on-failure", "version: 0.2\nphases:\n  build:\n    on-failure: RETRY_FOREVER\n    commands: [x]\n", "b.yml:4: phases.build.on-failure"},
		{"commands not a list", "version: 0.2\nphases:\n  build:\n    commands: {a: b}\n", "b.yml:4"},
		{"empty command", "version: 0.2\nphases:\n  build:\n    commands: ['  ']\n", "empty command"},
		{"no commands", "version: 0.2\nphases:\n  build: {}\n", "has no commands"},
		{"bad var name", "version: 0.2\nenv:\n  variables:\n    'A-B': x\nphases:\n  build:\n    commands: [x]\n", "\"A-B\" is not a valid variable name"},
		{"var is a map", "version: 0.2\nenv:\n  variables:\n    A: {b: c}\nphases:\n  build:\n    commands: [x]\n", "b.yml:4: env.variables.A: must be a string"},
		{"artifact escape", "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n  files: ['../secret']\n", "b.yml:5: artifacts.files: \"../secret\" must stay inside"},
		{"artifact abs", "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n  files: ['/etc/passwd']\n", "must stay inside"},
		{"no artifact files", "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n  name: x\n", "artifacts.files: missing"},
		{"bad yaml", "version: 0.2\nphases: [\n", "b.yml:"},
		{"bad shell", "version: 0.2\nenv:\n  shell: zsh\nphases:\n  build:\n    commands: [x]\n", "b.yml:3: env.shell"},
		// The guide's slip: an unquoted command holding ": " is a map to YAML.
		{"command is a map", "version: 0.2\nphases:\n  pre_build:\n    commands:\n      - echo start\n      - echo \"Image Tag: $IMAGE_TAG\"\n",
			`b.yml:6: phases.pre_build.commands[1]: YAML_FILE_ERROR: Expected Commands[1] to be of string type: found subkeys instead at line 6 (YAML reads an unquoted command holding ": " as a map): quote the whole command: - 'echo "Image Tag: $IMAGE_TAG"'`},
		{"finally is a list", "version: 0.2\nphases:\n  build:\n    commands: [x]\n    finally:\n      - [a, b]\n", "phases.build.finally[0]: YAML_FILE_ERROR: Expected Commands[0] to be of string type: found a list instead at line 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBuildspec("b.yml", []byte(tc.doc))
			if err == nil {
				t.Fatalf("accepted %q", tc.doc)
			}
			if !errors.Is(err, ErrBuildspec) {
				t.Errorf("error %v is not ErrBuildspec", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseBuildspecGuideExample(t *testing.T) {
	doc := `version: 0.2
env:
  variables:
    REPOSITORY: hello
    PORT: 3000
  secrets-manager:
    REGISTRY_PASSWORD: prod/registry:password
phases:
  install:
    runtime-versions:
      golang: 1.22
  pre_build:
    commands:
      - echo Logging in
  build:
    on-failure: ABORT
    commands:
      - go build ./...
    finally:
      - echo done
  post_build:
    commands:
      - printf '[{"name":"hello","imageUri":"%s"}]' "$IMAGE" > imagedefinitions.json
artifacts:
  files:
    - imagedefinitions.json
    - appspec.yaml
  discard-paths: yes
`
	bs, err := ParseBuildspec("b.yml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if bs.Version != "0.2" || bs.Env.Variables["PORT"] != "3000" || bs.Env.Secrets["REGISTRY_PASSWORD"] == "" {
		t.Errorf("env = %+v", bs.Env)
	}
	var names []string
	for _, p := range bs.Phases {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "install,pre_build,build,post_build" {
		t.Errorf("phases = %v", names)
	}
	if !bs.Artifacts.DiscardPaths || len(bs.Artifacts.Files) != 2 {
		t.Errorf("artifacts = %+v", bs.Artifacts)
	}
}

func mustParse(t *testing.T, doc string) *Buildspec {
	t.Helper()
	bs, err := ParseBuildspec("b.yml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func phaseStatuses(r *BuildResult) string {
	var s []string
	for _, p := range r.Phases {
		s = append(s, p.Name+"="+p.Status)
	}
	return strings.Join(s, " ")
}

func TestRunBuildspecSessionEnvAndArtifacts(t *testing.T) {
	dir, arts := t.TempDir(), t.TempDir()
	bs := mustParse(t, `version: 0.2
env:
  variables:
    GREETING: hello
phases:
  install:
    commands:
      - mkdir -p out/sub
      - cd out
  pre_build:
    commands:
      - export FROM_PRE=carried
  build:
    commands:
      - pwd > sub/where.txt
      - echo "$GREETING $FROM_PRE $CODEBUILD_RESOLVED_SOURCE_VERSION $CODEBUILD_SRC_DIR" > sub/env.txt
      - read x || echo "stdin is empty" > sub/stdin.txt
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING" > sub/post.txt
artifacts:
  base-directory: out
  files:
    - '**/*.txt'
`)
	var log bytes.Buffer
	res, err := RunBuildspec(context.Background(), bs, RunOptions{
		Dir: dir, Log: &log, ArtifactsDir: arts,
		Env: map[string]string{"CODEBUILD_RESOLVED_SOURCE_VERSION": "abc123"},
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if res.Status != StatusSucceeded || phaseStatuses(res) != "install=SUCCEEDED pre_build=SUCCEEDED build=SUCCEEDED post_build=SUCCEEDED" {
		t.Errorf("result %s %s", res.Status, phaseStatuses(res))
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(arts, name))
		if err != nil {
			t.Fatalf("artifact %s: %v (have %v)", name, err, res.Artifacts)
		}
		return strings.TrimSpace(string(b))
	}
	if got := read("sub/where.txt"); got != filepath.Join(dir, "out") {
		t.Errorf("cd did not carry over: pwd = %q", got)
	}
	if got := read("sub/env.txt"); got != "hello carried abc123 "+dir {
		t.Errorf("env = %q", got)
	}
	if got := read("sub/stdin.txt"); got != "stdin is empty" {
		t.Errorf("stdin = %q", got)
	}
	if got := read("sub/post.txt"); got != "succeeding=1" {
		t.Errorf("post = %q", got)
	}
	if strings.Join(res.Artifacts, ",") != "sub/env.txt,sub/post.txt,sub/stdin.txt,sub/where.txt" {
		t.Errorf("artifacts = %v", res.Artifacts)
	}
}

func TestRunBuildspecFailures(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
		files           []string // files that must exist in Dir afterwards
		absent          []string
	}{
		{
			name: "build fails: rest of phase skipped, finally and post_build run",
			doc: `version: 0.2
phases:
  build:
    commands:
      - touch b1
      - "false"
      - touch b2
    finally:
      - touch fin
  post_build:
    commands:
      - echo "$CODEBUILD_BUILD_SUCCEEDING" > post`,
			want:   "build=FAILED post_build=SUCCEEDED",
			files:  []string{"b1", "fin", "post"},
			absent: []string{"b2"},
		},
		{
			name: "pre_build fails with ABORT: build and post_build skipped",
			doc: `version: 0.2
phases:
  pre_build:
    commands: ["exit 3"]
  build:
    commands: ["touch built"]
  post_build:
    commands: ["touch post"]`,
			want:   "pre_build=FAILED build=SKIPPED post_build=SKIPPED",
			absent: []string{"built", "post"},
		},
		{
			name: "install fails with CONTINUE: later phases run, build still fails",
			doc: `version: 0.2
phases:
  install:
    on-failure: CONTINUE
    commands: ["false"]
  build:
    commands: ["touch built"]`,
			want:  "install=FAILED build=SUCCEEDED",
			files: []string{"built"},
		},
		{
			name: "exit ends the shell; finally runs in a new one",
			doc: `version: 0.2
phases:
  build:
    commands: ["exit 7", "touch never"]
    finally: ["touch fin"]`,
			want:   "build=FAILED",
			files:  []string{"fin"},
			absent: []string{"never"},
		},
		{
			name: "a failing finally fails the phase",
			doc: `version: 0.2
phases:
  build:
    commands: ["true"]
    finally: ["false"]`,
			want: "build=FAILED",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var log bytes.Buffer
			res, err := RunBuildspec(context.Background(), mustParse(t, tc.doc), RunOptions{Dir: dir, Log: &log})
			if !errors.Is(err, ErrBuildFailed) {
				t.Fatalf("err = %v, want ErrBuildFailed\n%s", err, log.String())
			}
			if res.Status != StatusFailed || phaseStatuses(res) != tc.want {
				t.Errorf("got %s %s, want FAILED %s", res.Status, phaseStatuses(res), tc.want)
			}
			for _, f := range tc.files {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s missing: %v\n%s", f, err, log.String())
				}
			}
			for _, f := range tc.absent {
				if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
					t.Errorf("%s exists, want it skipped", f)
				}
			}
		})
	}
}

func TestRunBuildspecPostBuildSeesFailure(t *testing.T) {
	dir := t.TempDir()
	bs := mustParse(t, "version: 0.2\nphases:\n  build:\n    commands: ['false']\n  post_build:\n    commands: ['echo $CODEBUILD_BUILD_SUCCEEDING > post']\n")
	RunBuildspec(context.Background(), bs, RunOptions{Dir: dir})
	b, _ := os.ReadFile(filepath.Join(dir, "post"))
	if strings.TrimSpace(string(b)) != "0" {
		t.Errorf("CODEBUILD_BUILD_SUCCEEDING in post_build after a failed build = %q, want 0", b)
	}
}

func TestRunBuildspecRedactsSecrets(t *testing.T) {
	dir := t.TempDir()
	bs := mustParse(t, `version: 0.2
env:
  parameter-store:
    DB_PASSWORD: /prod/db/password
phases:
  build:
    commands:
      - echo "the password is $DB_PASSWORD"
      - "printf 'half %s' \"$DB_PASSWORD\" | cut -c1-40"
      - echo "token ${API_TOKEN}" >&2
      - test "$DB_PASSWORD" = "hunter2-very-secret" && false
`)
	var log bytes.Buffer
	res, err := RunBuildspec(context.Background(), bs, RunOptions{
		Dir: dir, Log: &log,
		Getenv:  func(k string) string { return map[string]string{"DB_PASSWORD": "hunter2-very-secret"}[k] },
		Env:     map[string]string{"API_TOKEN": "tok-123456"},
		Secrets: []string{"tok-123456"},
	})
	if err == nil {
		t.Fatal("want the last command to fail")
	}
	out := log.String() + err.Error() + res.Phases[0].FailedCommand
	if strings.Contains(out, "hunter2") || strings.Contains(out, "tok-123456") {
		t.Errorf("a secret reached the log or the error:\n%s", out)
	}
	if !strings.Contains(log.String(), "the password is ***") || !strings.Contains(log.String(), "token ***") {
		t.Errorf("log does not show the redaction:\n%s", log.String())
	}
}

func TestRunBuildspecMissingSecret(t *testing.T) {
	bs := mustParse(t, "version: 0.2\nenv:\n  secrets-manager:\n    KEY: prod/key\nphases:\n  build:\n    commands: [x]\n")
	_, err := RunBuildspec(context.Background(), bs, RunOptions{Dir: t.TempDir(), Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "secret KEY (prod/key on AWS) is not set") {
		t.Errorf("err = %v", err)
	}
}

func TestRunBuildspecNoArtifactMatch(t *testing.T) {
	bs := mustParse(t, "version: 0.2\nphases:\n  build:\n    commands: ['true']\nartifacts:\n  files: [imageDetail.json]\n")
	res, err := RunBuildspec(context.Background(), bs, RunOptions{Dir: t.TempDir()})
	if !errors.Is(err, ErrBuildFailed) || res.Status != StatusFailed {
		t.Errorf("no artifact: err %v status %v", err, res.Status)
	}
}

func TestRunBuildspecCancel(t *testing.T) {
	bs := mustParse(t, "version: 0.2\nphases:\n  build:\n    commands: ['sleep 30']\n")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	dir := t.TempDir()
	t.Cleanup(func() { leakcheck.KillUnder(dir) })
	start := time.Now()
	_, err := RunBuildspec(ctx, bs, RunOptions{Dir: dir})
	// The command the shell was running goes with it: a cancelled build
	// leaves no process behind (the sleep was orphaned, still running).
	deadline := time.Now().Add(5 * time.Second)
	for left := leakcheck.Processes(dir, ""); len(left) > 0; left = leakcheck.Processes(dir, "") {
		if time.Now().After(deadline) {
			t.Fatalf("a cancelled build left %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("cancel took %v", time.Since(start))
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, name string
		want      bool
	}{
		{"**/*", "a/b/c.txt", true},
		{"**/*", "c.txt", true},
		{"*.json", "imageDetail.json", true},
		{"*.json", "sub/imageDetail.json", false},
		{"sub/**", "sub/a/b", true},
		{"sub/**/x.txt", "sub/x.txt", true},
		{"sub/**/x.txt", "sub/a/b/x.txt", true},
		{"appspec.yaml", "appspec.yaml", true},
		{"appspec.yaml", "appspec.yml", false},
	} {
		if got := globMatch(tc.pat, tc.name); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v", tc.pat, tc.name, got)
		}
	}
}

func FuzzParseBuildspec(f *testing.F) {
	f.Add([]byte("version: 0.2\nphases:\n  build:\n    commands: [make]\n"))
	f.Add([]byte("version: 0.2\nenv:\n  variables: {A: b}\nphases:\n  install:\n    commands: [x]\n    finally: [y]\nartifacts:\n  files: ['**/*']\n"))
	f.Add([]byte("version: '0.2'\nphases: {build: {commands: [a], on-failure: CONTINUE}}"))
	f.Add([]byte("version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"A: $B\"\n    finally:\n      - [x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		bs, err := ParseBuildspec("f.yml", data)
		if err != nil {
			if !errors.Is(err, ErrBuildspec) {
				t.Fatalf("error %v is not ErrBuildspec", err)
			}
			return
		}
		if bs.Version != "0.2" || len(bs.Phases) == 0 {
			t.Fatalf("accepted a buildspec without version or phases: %+v", bs)
		}
	})
}
