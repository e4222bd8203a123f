package aws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
	"github.com/canaryflow/canaryflow/internal/userfile"
)

// Documents are the files doctor reads, each nil when absent. JSON
// documents are kept as decoded trees so doctor can read files written by
// hand (the guide's names and shapes) as well as rendered ones. Files are
// recognised by what they hold, not by their names: when several hold
// the same kind of document, the first by canaryflow's and the guide's
// names (then by path) is the one the cross-document checks use, and
// every one gets the checks of its own.
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
	BuildProject        obj
	BuildProjectPath    string
	// CodeDeployPolicy is the CodeDeploy role's permission policy.
	CodeDeployPolicy     *PolicyDocument
	CodeDeployPolicyPath string
	// Policies are every permission policy found; TrustPolicies every
	// trust policy.
	Policies      map[string]*PolicyDocument
	TrustPolicies map[string]*PolicyDocument
	// All are the recognised documents, by path.
	All []*Document
	// Problems are files that exist but could not be parsed.
	Problems []Finding
	// Read counts the *.json, *.yml and *.yaml files read.
	Read int
}

// Document is one file doctor recognised.
type Document struct {
	Path string // relative to the folder read, with forward slashes
	Kind string // one of the Kind constants
	Data []byte
	tree obj // decoded JSON object (nil for YAML documents)
}

// Kinds of document, recognised by shape.
const (
	KindAppSpec         = "appspec"
	KindBuildspec       = "buildspec"
	KindTaskDef         = "task definition"
	KindService         = "service"
	KindDeploymentGroup = "deployment group"
	KindPipeline        = "pipeline"
	KindBuildProject    = "CodeBuild project"
	KindPolicy          = "IAM permission policy"
	KindTrustPolicy     = "IAM trust policy"
	KindTargetGroup     = "target group"
	KindAlarm           = "alarm"
)

// candidates order the documents of one kind: canaryflow's render layout
// first, then the names the guide used; the first found is the one the
// cross-document checks read.
var candidates = map[string][]string{
	KindAppSpec:         {awsfmt.AppSpecFileName, "appspec.yml"},
	KindTaskDef:         {awsfmt.TaskDefFileName, "task-definition.json"},
	KindBuildspec:       {awsfmt.BuildspecFileName, "buildspec.yml"},
	KindService:         {InfraDir + "/service-definition.json", "service-definition.json"},
	KindDeploymentGroup: {InfraDir + "/deployment-group.json", "deployment-group.json"},
	KindPipeline:        {InfraDir + "/pipeline.json", "pipeline-config.json", "pipeline.json"},
	KindBuildProject:    {awsfmt.CodeBuildProjectFileName, "codebuild-project.json"},
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

// skipDirs are folders doctor does not descend into.
var skipDirs = map[string]bool{".git": true, "node_modules": true, "vendor": true, ".canaryflow": true}

// maxDocuments bounds how many files one run reads.
const maxDocuments = 2000

// ReadDocuments reads every *.json, *.yml and *.yaml file under dir (dir
// may be empty when files are given) and the files given, and recognises
// each by its shape. Files that are not AWS or CodeBuild documents (a
// package.json, a docker-compose.yml) are passed over.
func ReadDocuments(dir string, files ...string) (*Documents, error) {
	d := &Documents{Policies: map[string]*PolicyDocument{}, TrustPolicies: map[string]*PolicyDocument{}}
	type found struct{ rel, abs string }
	var paths []found
	if dir != "" {
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if p != dir && skipDirs[e.Name()] {
					return filepath.SkipDir
				}
				return nil
			}
			if !documentFile(e.Name()) || !e.Type().IsRegular() {
				return nil
			}
			if len(paths) >= maxDocuments {
				return fmt.Errorf("more than %d documents under %s: give a narrower --dir", maxDocuments, dir)
			}
			rel, _ := filepath.Rel(dir, p)
			paths = append(paths, found{filepath.ToSlash(rel), p})
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
	}
	for _, f := range files {
		paths = append(paths, found{filepath.ToSlash(f), f})
	}
	byKind := map[string][]*Document{}
	for _, f := range paths {
		data, err := userfile.Read(f.abs)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.rel, err)
		}
		d.Read++
		doc, problem := recognise(f.rel, data)
		if problem != nil {
			d.Problems = append(d.Problems, *problem)
		}
		if doc == nil {
			continue
		}
		d.All = append(d.All, doc)
		byKind[doc.Kind] = append(byKind[doc.Kind], doc)
	}
	primary := func(kind string) *Document {
		docs := byKind[kind]
		if len(docs) == 0 {
			return nil
		}
		best := docs[0]
		rank := func(doc *Document) int {
			if i := slices.Index(candidates[kind], doc.Path); i >= 0 {
				return i
			}
			return len(candidates[kind])
		}
		for _, doc := range docs[1:] {
			if rank(doc) < rank(best) {
				best = doc
			}
		}
		return best
	}
	if doc := primary(KindAppSpec); doc != nil {
		spec, err := awsfmt.ParseAppSpec(doc.Path, doc.Data)
		if err != nil {
			d.Problems = append(d.Problems, Finding{Check: CheckUnreadable, File: doc.Path, Problem: err.Error(), Fix: "fix the AppSpec, or run `canaryflow aws render`"})
		}
		d.AppSpec, d.AppSpecPath = spec, doc.Path
	}
	for kind, dst := range map[string]struct {
		tree *obj
		path *string
	}{
		KindTaskDef: {&d.TaskDef, &d.TaskDefPath}, KindService: {&d.Service, &d.ServicePath},
		KindDeploymentGroup: {&d.DeploymentGroup, &d.DeploymentGroupPath}, KindPipeline: {&d.Pipeline, &d.PipelinePath},
		KindBuildProject: {&d.BuildProject, &d.BuildProjectPath},
	} {
		if doc := primary(kind); doc != nil {
			*dst.tree, *dst.path = doc.tree, doc.Path
		}
	}
	if doc := primary(KindBuildspec); doc != nil {
		d.Buildspec, d.BuildspecPath = doc.Data, doc.Path
	}
	for _, doc := range d.All {
		if doc.Kind != KindPolicy && doc.Kind != KindTrustPolicy {
			continue
		}
		p, err := ParsePolicy(doc.Data)
		if err != nil {
			d.Problems = append(d.Problems, Finding{Check: CheckUnreadable, File: doc.Path, Problem: err.Error(), Fix: "fix the JSON, or run `canaryflow aws render`"})
			continue
		}
		if doc.Kind == KindTrustPolicy {
			d.TrustPolicies[doc.Path] = p
			continue
		}
		d.Policies[doc.Path] = p
		// The CodeDeploy role's policy: named so, or granting what only
		// CodeDeploy's ECS blue/green needs.
		isCodeDeploy := strings.Contains(strings.ToLower(path.Base(doc.Path)), "codedeploy") || Grants(p, "ecs:CreateTaskSet", "*")
		if isCodeDeploy && (d.CodeDeployPolicy == nil || strings.HasSuffix(doc.Path, "-codedeploy-policy.json")) {
			d.CodeDeployPolicy, d.CodeDeployPolicyPath = p, doc.Path
		}
	}
	return d, nil
}

// documentFile reports whether a file name is one doctor reads.
func documentFile(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".json", ".yml", ".yaml":
		return true
	}
	return false
}

// recognise decodes a file and says which document it is: nil for a file
// that is none of them (or does not parse: then with a finding, when its
// name or content says it was meant to be one).
func recognise(rel string, data []byte) (*Document, *Finding) {
	doc := &Document{Path: rel, Data: data}
	if strings.EqualFold(path.Ext(rel), ".json") {
		var tree any
		if err := json.Unmarshal(data, &tree); err != nil {
			if looksAWS(data) {
				return nil, &Finding{Check: CheckUnreadable, File: rel, Problem: "not valid JSON: " + err.Error(), Fix: "fix the JSON, or run `canaryflow aws render` to write it again"}
			}
			return nil, nil
		}
		m, ok := tree.(map[string]any)
		if !ok {
			if looksAWS(data) {
				return nil, &Finding{Check: CheckUnreadable, File: rel, Problem: "not a JSON object", Fix: "fix the JSON, or run `canaryflow aws render` to write it again"}
			}
			return nil, nil
		}
		doc.tree = obj(m)
		doc.Kind = kindOf(doc.tree)
	} else {
		doc.Kind = yamlKind(data)
	}
	if doc.Kind == "" {
		return nil, nil
	}
	return doc, nil
}

// looksAWS reports whether an unreadable JSON file was probably meant to be
// one of the documents doctor reads.
func looksAWS(data []byte) bool {
	for _, k := range []string{"containerDefinitions", "serviceName", "deploymentGroupName", `"Statement"`, `"stages"`, "environmentVariables", "AlarmName"} {
		if bytes.Contains(data, []byte(k)) {
			return true
		}
	}
	return false
}

// kindOf recognises a JSON document by its keys.
func kindOf(o obj) string {
	has := func(keys ...string) bool {
		for _, k := range keys {
			if o.get(k) == nil {
				return false
			}
		}
		return true
	}
	switch {
	case has("containerDefinitions"):
		return KindTaskDef
	case has("deploymentGroupName"):
		return KindDeploymentGroup
	case has("pipeline.stages"):
		return KindPipeline
	case has("serviceName"):
		return KindService
	case has("environment") && (has("source") || has("artifacts")) && (has("environment.computeType") || has("environment.image")):
		return KindBuildProject
	case has("Statement"):
		for _, st := range o.list("Statement") {
			if st.get("Principal") != nil {
				return KindTrustPolicy
			}
		}
		return KindPolicy
	case has("AlarmName"):
		return KindAlarm
	case has("TargetType") || has("HealthCheckPath") || has("HealthCheckProtocol") || (has("Name") && has("Protocol") && has("VpcId")):
		return KindTargetGroup
	case has("Resources") && has("version"):
		if _, ok := o.get("Resources").([]any); ok {
			return KindAppSpec
		}
	}
	return ""
}

// yamlKind recognises a YAML document: an AppSpec (version 0.0 with a list
// of Resources) or a buildspec (phases).
func yamlKind(data []byte) (kind string) {
	defer func() {
		if recover() != nil {
			kind = "" // go-yaml can panic on odd documents
		}
	}()
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		// A buildspec with a command YAML reads as a map still decodes;
		// one that does not decode at all is recognised by its keys.
		if bytes.Contains(data, []byte("phases:")) {
			return KindBuildspec
		}
		return ""
	}
	if _, ok := m["phases"]; ok {
		return KindBuildspec
	}
	if r, ok := m["Resources"].([]any); ok && len(r) > 0 {
		return KindAppSpec
	}
	return ""
}
