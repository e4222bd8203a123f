package aws

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/userfile"
)

// Documents are the files doctor reads, each nil when absent. JSON
// documents are kept as decoded trees so doctor can read files written by
// hand (the guide's names and shapes) as well as rendered ones.
type Documents struct {
	AppSpec             *awsfmt.AppSpec
	AppSpecPath         string
	TaskDef             obj
	TaskDefPath         string
	Buildspec           []byte
	BuildspecPath       string
	Service             obj
	ServicePath         string
	DeploymentGroup     obj
	DeploymentGroupPath string
	Pipeline            obj
	PipelinePath        string
	// CodeDeployPolicy is the CodeDeploy role's permission policy.
	CodeDeployPolicy     *PolicyDocument
	CodeDeployPolicyPath string
	// Policies are every permission policy found under aws/iam.
	Policies map[string]*PolicyDocument
	// Problems are files that exist but could not be parsed.
	Problems []Finding
}

// candidates are where doctor looks for each document: canaryflow's
// render layout first, then the names the guide used.
var candidates = map[string][]string{
	"appspec":    {awsfmt.AppSpecFileName, "appspec.yml"},
	"taskdef":    {awsfmt.TaskDefFileName, "task-definition.json"},
	"buildspec":  {awsfmt.BuildspecFileName, "buildspec.yml"},
	"service":    {InfraDir + "/service-definition.json", "service-definition.json"},
	"group":      {InfraDir + "/deployment-group.json", "deployment-group.json"},
	"pipeline":   {InfraDir + "/pipeline.json", "pipeline-config.json", "pipeline.json"},
	"codedeploy": {"aws-permissions/codedeploy-policy.json", "codedeploy-policy.json"},
}

// obj is a decoded JSON object.
type obj map[string]any

// get walks a dotted path ("pipeline.stages"); list elements are "[0]".
func (o obj) get(path string) any {
	var cur any = map[string]any(o)
	for _, part := range strings.Split(path, ".") {
		name, idx, hasIdx := strings.Cut(part, "[")
		if m, ok := cur.(map[string]any); ok && name != "" {
			cur = m[name]
		} else if name != "" {
			return nil
		}
		if hasIdx {
			i, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			l, ok := cur.([]any)
			if err != nil || !ok || i < 0 || i >= len(l) {
				return nil
			}
			cur = l[i]
		}
	}
	return cur
}

func (o obj) str(path string) string {
	switch v := o.get(path).(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func (o obj) arr(path string) []any {
	l, _ := o.get(path).([]any)
	return l
}

func (o obj) list(path string) []obj {
	l, _ := o.get(path).([]any)
	var out []obj
	for _, v := range l {
		if m, ok := v.(map[string]any); ok {
			out = append(out, obj(m))
		}
	}
	return out
}

// ReadDocuments reads the documents under dir.
func ReadDocuments(dir string) (*Documents, error) {
	d := &Documents{Policies: map[string]*PolicyDocument{}}
	find := func(kind string) (string, []byte, error) {
		for _, rel := range candidates[kind] {
			data, err := userfile.Read(filepath.Join(dir, filepath.FromSlash(rel)))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return "", nil, fmt.Errorf("read %s: %w", rel, err)
			}
			return rel, data, nil
		}
		return "", nil, nil
	}
	parseObj := func(kind string, dst *obj, path *string) error {
		rel, data, err := find(kind)
		if err != nil || rel == "" {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			d.Problems = append(d.Problems, Finding{Check: CheckUnreadable, File: rel, Problem: "not a JSON object: " + err.Error(), Fix: "fix the JSON, or run `canaryflow aws render` to write it again"})
			return nil
		}
		*dst, *path = m, rel
		return nil
	}
	if rel, data, err := find("appspec"); err != nil {
		return nil, err
	} else if rel != "" {
		spec, perr := awsfmt.ParseAppSpec(rel, data)
		if perr != nil {
			d.Problems = append(d.Problems, Finding{Check: CheckUnreadable, File: rel, Problem: perr.Error(), Fix: "fix the AppSpec, or run `canaryflow aws render`"})
		}
		d.AppSpec, d.AppSpecPath = spec, rel
	}
	for _, p := range []struct {
		kind string
		dst  *obj
		path *string
	}{{"taskdef", &d.TaskDef, &d.TaskDefPath}, {"service", &d.Service, &d.ServicePath}, {"group", &d.DeploymentGroup, &d.DeploymentGroupPath}, {"pipeline", &d.Pipeline, &d.PipelinePath}} {
		if err := parseObj(p.kind, p.dst, p.path); err != nil {
			return nil, err
		}
	}
	if rel, data, err := find("buildspec"); err != nil {
		return nil, err
	} else if rel != "" {
		d.Buildspec, d.BuildspecPath = data, rel
	}
	// Policies: aws/iam/*-policy.json, and the guide's codedeploy-policy.json.
	matches, _ := filepath.Glob(filepath.Join(dir, InfraDir, "iam", "*-policy.json"))
	for _, m := range matches {
		rel := InfraDir + "/iam/" + filepath.Base(m)
		data, err := userfile.Read(m)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", rel, err)
		}
		p, err := ParsePolicy(data)
		if err != nil {
			d.Problems = append(d.Problems, Finding{Check: CheckUnreadable, File: rel, Problem: err.Error(), Fix: "fix the JSON, or run `canaryflow aws render`"})
			continue
		}
		d.Policies[rel] = p
		if strings.HasSuffix(rel, "-codedeploy-policy.json") {
			d.CodeDeployPolicy, d.CodeDeployPolicyPath = p, rel
		}
	}
	if d.CodeDeployPolicy == nil {
		if rel, data, err := find("codedeploy"); err != nil {
			return nil, err
		} else if rel != "" {
			if p, perr := ParsePolicy(data); perr == nil {
				d.CodeDeployPolicy, d.CodeDeployPolicyPath = p, rel
			} else {
				d.Problems = append(d.Problems, Finding{Check: CheckUnreadable, File: rel, Problem: perr.Error(), Fix: "fix the JSON"})
			}
		}
	}
	return d, nil
}
