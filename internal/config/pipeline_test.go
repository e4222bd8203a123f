package config

import (
	"strings"
	"testing"
	"time"
)

const minimalService = "service:\n  name: hello\n"

func TestPipelineDefaults(t *testing.T) {
	c, err := Parse("c.yaml", []byte(minimalService+"pipeline: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Pipeline
	if p.PollInterval.D() != time.Second || p.Mode != "SUPERSEDED" || strings.Join(p.Tags.Include, ",") != "v*" ||
		p.Build.Image != "auto" || p.Build.Package != "." || p.WebhookSecretEnv != "CANARYFLOW_WEBHOOK_SECRET" ||
		p.Build.MaxLogBytes != 10<<20 || p.KeepExecutions != 100 || len(p.Build.PassEnv) != 0 {
		t.Errorf("defaults = %+v", p)
	}
	if c, _ := Parse("c.yaml", []byte(minimalService)); c.Pipeline != nil {
		t.Error("a file without a pipeline section has a pipeline")
	}
}

func TestPipelineErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"pipeline:\n  mode: PARALLEL\n", "pipeline: a pipeline deploys a service"},
		{minimalService + "pipeline:\n  mode: PARALLEL\n", "c.yaml:4: pipeline.mode: \"PARALLEL\""},
		{minimalService + "pipeline:\n  source: --upload-pack=x\n", "c.yaml:4: pipeline.source"},
		{minimalService + "pipeline:\n  poll_interval: 1ms\n", "pipeline.poll_interval: 1ms is too short"},
		{minimalService + "pipeline:\n  tags:\n    include: ['[']\n", "pipeline.tags.include[0]"},
		{minimalService + "pipeline:\n  build:\n    image: buildah\n", "c.yaml:5: pipeline.build.image"},
		{minimalService + "pipeline:\n  build:\n    package: ../other\n", "pipeline.build.package"},
		{minimalService + "pipeline:\n  build:\n    repository: Hello World\n", "pipeline.build.repository"},
		{minimalService + "pipeline:\n  build:\n    secret_env: ['A B']\n", "pipeline.build.secret_env[0]"},
		{minimalService + "pipeline:\n  build:\n    pass_env:\n      - GOPATH\n      - 'A=B'\n", "c.yaml:7: pipeline.build.pass_env[1]: \"A=B\" is not an environment variable name"},
		{minimalService + "pipeline:\n  build:\n    pass_env: ['']\n", "pipeline.build.pass_env[0]"},
		{minimalService + "pipeline:\n  webhook_secret_env: x-y\n", "pipeline.webhook_secret_env"},
		{minimalService + "pipeline:\n  build:\n    max_log_bytes: 100\n", "c.yaml:5: pipeline.build.max_log_bytes: 100: want at least 4096 bytes"},
		{minimalService + "pipeline:\n  build:\n    max_log_bytes: 10MiB\n", "c.yaml:5"},
		{minimalService + "pipeline:\n  keep_executions: -1\n", "c.yaml:4: pipeline.keep_executions: -1"},
		{minimalService + "pipeline:\n  pol_interval: 1s\n", "c.yaml:4"},
	} {
		_, err := Parse("c.yaml", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func TestPipelineBuildSafetyKeys(t *testing.T) {
	c, err := Parse("c.yaml", []byte(minimalService+"pipeline:\n  keep_executions: 5\n  build:\n    max_log_bytes: 65536\n    pass_env: [GOPATH, GOMODCACHE]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Pipeline; p.KeepExecutions != 5 || p.Build.MaxLogBytes != 65536 || strings.Join(p.Build.PassEnv, ",") != "GOPATH,GOMODCACHE" {
		t.Errorf("pipeline = %+v", p)
	}
}

// FuzzParsePipeline checks that whatever pipeline section parses gives the
// build only variable names, a usable log limit and a bounded history.
func FuzzParsePipeline(f *testing.F) {
	f.Add([]byte("pipeline:\n  keep_executions: 3\n  build:\n    pass_env: [A, B_1]\n    max_log_bytes: 4096\n"))
	f.Add([]byte("pipeline: {build: {pass_env: ['x=y', ''], max_log_bytes: -1}, keep_executions: 0}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", append([]byte(minimalService), data...))
		if err != nil || c.Pipeline == nil {
			return
		}
		p := c.Pipeline
		for _, n := range p.Build.PassEnv {
			if !envVarName.MatchString(n) {
				t.Fatalf("accepted pass_env name %q", n)
			}
		}
		if p.Build.MaxLogBytes < minLogBytes || p.KeepExecutions < 1 {
			t.Fatalf("accepted max_log_bytes %d, keep_executions %d", p.Build.MaxLogBytes, p.KeepExecutions)
		}
	})
}
