package aws

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

// Tags canaryflow puts on everything it creates; destroy removes only
// resources that carry them.
const (
	TagManagedBy = "canaryflow:managed-by"
	TagService   = "canaryflow:service"
)

// InfraDir is the folder, under the render output, of the documents that
// describe AWS resources rather than the build (which live at the top, where
// the pipeline reads them from the source).
const InfraDir = "aws"

// File is one rendered document.
type File struct {
	// Path is relative to the output directory, with forward slashes.
	Path string
	Data []byte
	// CLI is the aws CLI command that accepts the file, with "FILE" where
	// its path goes (file://FILE); empty for files read by the pipeline.
	CLI []string
}

// Bundle is the output of Render.
type Bundle struct {
	Files []File
	// Placeholders are the values Render could not know (ARNs AWS assigns
	// at creation, discovered network IDs); apply fills them.
	Placeholders []string
}

// docStep is one SDK request rendered as a file.
type docStep struct {
	path string
	v    any
	mc   memberCase
	cli  []string
}

// Render returns every document for s, filled from live where it knows a
// value.
func Render(s Spec, live Live) (*Bundle, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	b := newBlueprint(s, live)
	n := b.names
	var files []File
	add := func(path string, v any, mc memberCase, cli ...string) error {
		var data []byte
		var err error
		if mc == camelCase {
			data, err = wireDoc(v) // the SDK's serializer knows each member's wire name
		} else {
			data, err = document(v, mc)
		}
		if err != nil {
			return err
		}
		files = append(files, File{Path: path, Data: data, CLI: cli})
		return nil
	}
	cliJSON := func(svc, op string) []string { return []string{svc, op, "--cli-input-json", "file://FILE"} }
	infra := func(name string) string { return InfraDir + "/" + name }

	if err := add(awsfmt.TaskDefFileName, b.taskDefinition(""), camelCase, cliJSON("ecs", "register-task-definition")...); err != nil {
		return nil, err
	}
	if s.withDefaults().Controller == ControllerCodeDeploy {
		files = append(files, File{Path: awsfmt.AppSpecFileName, Data: b.appSpec("")})
	}
	files = append(files, File{Path: awsfmt.BuildspecFileName, Data: b.buildspec()})
	steps := []docStep{
		{infra("service-definition.json"), b.service(), camelCase, cliJSON("ecs", "create-service")},
		{infra("codebuild-project.json"), b.buildProject(), camelCase, cliJSON("codebuild", "create-project")},
		{infra("pipeline.json"), b.pipeline(), camelCase, cliJSON("codepipeline", "create-pipeline")},
	}
	if len(s.SecurityGroups) == 0 {
		steps = append(steps, docStep{infra("security-group-alb-ingress.json"), b.albIngress(), pascalCase, cliJSON("ec2", "authorize-security-group-ingress")})
	}
	for i, tg := range b.targetGroups() {
		steps = append(steps, docStep{infra(fmt.Sprintf("target-group-%s.json", []string{"blue", "green"}[i])), tg, pascalCase, cliJSON("elbv2", "create-target-group")})
	}
	if b.spec.Controller == ControllerCodeDeploy {
		steps = append(steps, docStep{infra("deployment-group.json"), b.deploymentGroup(), camelCase, cliJSON("deploy", "create-deployment-group")})
		if dc := b.deploymentConfig(); dc != nil {
			steps = append(steps, docStep{infra("deployment-config.json"), dc, camelCase, cliJSON("deploy", "create-deployment-config")})
		}
	}
	for _, a := range b.alarms() {
		name := strings.TrimPrefix(*a.AlarmName, s.Service+"-")
		steps = append(steps, docStep{infra("alarm-" + name + ".json"), a, pascalCase, cliJSON("cloudwatch", "put-metric-alarm")})
	}
	for _, st := range steps {
		if err := add(st.path, st.v, st.mc, st.cli...); err != nil {
			return nil, err
		}
	}
	files = append(files, File{Path: infra("ecr-lifecycle-policy.json"), Data: lifecyclePolicy(s.keepImages()),
		CLI: []string{"ecr", "put-lifecycle-policy", "--repository-name", n.Repository, "--lifecycle-policy-text", "file://FILE"}})
	for _, r := range n.Roles() {
		files = append(files, File{Path: infra("iam/" + r.Name + "-trust.json"), Data: []byte(policyJSON(r.Trust) + "\n"),
			CLI: []string{"iam", "create-role", "--role-name", r.Name, "--assume-role-policy-document", "file://FILE"}})
		if r.Policy != nil {
			files = append(files, File{Path: infra("iam/" + r.Name + "-policy.json"), Data: []byte(policyJSON(r.Policy) + "\n"),
				CLI: []string{"iam", "put-role-policy", "--role-name", r.Name, "--policy-name", PolicyName, "--policy-document", "file://FILE"}})
		}
	}
	out := &Bundle{Files: files}
	for p := range b.ph {
		out.Placeholders = append(out.Placeholders, "<"+p+">")
	}
	sort.Strings(out.Placeholders)
	return out, nil
}

// Differing lists the files of the bundle that exist under dir with other
// content than the bundle's: a file a team committed and edited by hand,
// which Write would overwrite.
func (b *Bundle) Differing(dir string) ([]string, error) {
	var out []string
	for _, f := range b.Files {
		have, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Path, err)
		}
		if !bytes.Equal(have, f.Data) {
			out = append(out, f.Path)
		}
	}
	return out, nil
}

// Write writes the bundle under dir, creating folders as needed.
func (b *Bundle) Write(dir string) error {
	for _, f := range b.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
	}
	return nil
}
