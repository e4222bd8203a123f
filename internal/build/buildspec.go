package build

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

// Buildspec is a CodeBuild buildspec (version 0.2), read as CodeBuild
// reads it, so the file a team commits for AWS runs locally unchanged.
type Buildspec struct {
	Version   string
	Env       BuildspecEnv
	Phases    []Phase // in CodeBuild's order: install, pre_build, build, post_build
	Artifacts Artifacts
}

// BuildspecEnv is the env section.
type BuildspecEnv struct {
	Shell     string            // "bash" or "sh"; zero means bash where present
	Variables map[string]string // plain variables
	// Secrets maps a variable name to where CodeBuild would fetch it
	// (parameter-store or secrets-manager). Locally the value is taken from
	// canaryflow's own environment variable of the same name; every secret
	// value is redacted from logs and errors.
	Secrets map[string]string
}

// Phase is one of the four build phases.
type Phase struct {
	Name      string   // install, pre_build, build or post_build
	Commands  []string // run in order; the first failure ends the phase
	Finally   []string // run after Commands, whether they failed or not
	OnFailure string   // ABORT (zero value) or CONTINUE
}

// Artifacts lists the files a build hands to the next stage.
type Artifacts struct {
	Files         []string
	BaseDirectory string
	DiscardPaths  bool
	Name          string
}

// phaseOrder is CodeBuild's phase order.
var phaseOrder = []string{"install", "pre_build", "build", "post_build"}

// BuildspecError is a problem in a buildspec, with its place.
type BuildspecError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *BuildspecError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// ErrBuildspec is the sentinel under every *BuildspecError.
var ErrBuildspec = errors.New("invalid buildspec")

// Unwrap makes errors.Is(err, ErrBuildspec) true.
func (e *BuildspecError) Unwrap() error { return ErrBuildspec }

// rawBuildspec mirrors the YAML document for strict decoding.
type rawBuildspec struct {
	Version any `yaml:"version"`
	RunAs   any `yaml:"run-as"`
	Env     *struct {
		Shell             string            `yaml:"shell"`
		Variables         map[string]any    `yaml:"variables"`
		ParameterStore    map[string]string `yaml:"parameter-store"`
		SecretsManager    map[string]string `yaml:"secrets-manager"`
		ExportedVariables []string          `yaml:"exported-variables"`
		GitCredential     any               `yaml:"git-credential-helper"`
	} `yaml:"env"`
	Proxy   any                  `yaml:"proxy"`
	Batch   any                  `yaml:"batch"`
	Phases  map[string]*rawPhase `yaml:"phases"`
	Reports any                  `yaml:"reports"`
	Cache   any                  `yaml:"cache"`

	Artifacts *struct {
		Files              []string `yaml:"files"`
		Name               string   `yaml:"name"`
		BaseDirectory      string   `yaml:"base-directory"`
		DiscardPaths       any      `yaml:"discard-paths"`
		EnableSymlinks     any      `yaml:"enable-symlinks"`
		S3Prefix           string   `yaml:"s3-prefix"`
		ExcludePaths       any      `yaml:"exclude-paths"`
		SecondaryArtifacts any      `yaml:"secondary-artifacts"`
	} `yaml:"artifacts"`
}

type rawPhase struct {
	RunAs           any            `yaml:"run-as"`
	OnFailure       string         `yaml:"on-failure"`
	RuntimeVersions map[string]any `yaml:"runtime-versions"`
	Commands        []string       `yaml:"commands"`
	Finally         []string       `yaml:"finally"`
}

// envName is what a variable name may be.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// maxBuildspecSize bounds the file; real buildspecs are a few KB.
const maxBuildspecSize = 1 << 20

// ParseBuildspec reads a buildspec document. name is used in errors.
func ParseBuildspec(name string, data []byte) (*Buildspec, error) {
	if len(data) > maxBuildspecSize {
		return nil, &BuildspecError{File: name, Msg: fmt.Sprintf("larger than %d bytes", maxBuildspecSize)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &BuildspecError{File: name, Msg: "empty file: want at least `version: 0.2` and phases"}
	}
	// CodeBuild's own check, before the decoder's message about Go types.
	if bad := awsfmt.BuildspecCommandsNotStrings(data); len(bad) > 0 {
		e := bad[0].Error(name)
		return nil, &BuildspecError{File: name, Line: e.Line, Field: e.Field, Msg: e.Msg}
	}
	var raw rawBuildspec
	if err := decodeStrict(data, &raw); err != nil {
		return nil, yamlError(name, err)
	}
	file, _ := parser.ParseBytes(data, 0)
	fail := func(path, field, format string, a ...any) error {
		return &BuildspecError{File: name, Line: lineAt(file, path), Field: field, Msg: fmt.Sprintf(format, a...)}
	}
	bs := &Buildspec{}
	switch v := raw.Version.(type) {
	case float64:
		bs.Version = strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		bs.Version = v
	case nil:
		return nil, fail("$", "version", "missing: add `version: 0.2` at the top")
	default:
		bs.Version = fmt.Sprint(v)
	}
	if bs.Version != "0.2" {
		return nil, fail("$.version", "version", "%q is not supported: canaryflow reads CodeBuild's version 0.2", bs.Version)
	}
	if raw.Env != nil {
		switch raw.Env.Shell {
		case "", "bash", "/bin/sh", "sh":
			bs.Env.Shell = raw.Env.Shell
		default:
			return nil, fail("$.env.shell", "env.shell", "%q: want bash or sh", raw.Env.Shell)
		}
		bs.Env.Variables = map[string]string{}
		for k, v := range raw.Env.Variables {
			if !envName.MatchString(k) {
				return nil, fail("$.env.variables", "env.variables", "%q is not a valid variable name", k)
			}
			switch v.(type) {
			case map[string]any, []any:
				return nil, fail("$.env.variables."+k, "env.variables."+k, "must be a string, not a list or map")
			}
			if v == nil {
				v = ""
			}
			bs.Env.Variables[k] = fmt.Sprint(v)
		}
		bs.Env.Secrets = map[string]string{}
		for sec, m := range map[string]map[string]string{"parameter-store": raw.Env.ParameterStore, "secrets-manager": raw.Env.SecretsManager} {
			for k, ref := range m {
				if !envName.MatchString(k) {
					return nil, fail("$.env."+sec, "env."+sec, "%q is not a valid variable name", k)
				}
				bs.Env.Secrets[k] = ref
			}
		}
	}
	if len(raw.Phases) == 0 {
		return nil, fail("$", "phases", "missing: a buildspec needs at least one phase (install, pre_build, build, post_build)")
	}
	for key := range raw.Phases {
		if !contains(phaseOrder, key) {
			return nil, fail("$.phases."+key, "phases."+key, "unknown phase: want install, pre_build, build or post_build")
		}
	}
	for _, pn := range phaseOrder {
		rp, ok := raw.Phases[pn]
		if !ok {
			continue
		}
		if rp == nil {
			return nil, fail("$.phases."+pn, "phases."+pn, "has no commands")
		}
		p := Phase{Name: pn, Commands: rp.Commands, Finally: rp.Finally, OnFailure: rp.OnFailure}
		switch p.OnFailure {
		case "", "ABORT", "CONTINUE":
		default:
			return nil, fail("$.phases."+pn+".on-failure", "phases."+pn+".on-failure", "%q: want ABORT or CONTINUE", p.OnFailure)
		}
		if len(p.Commands) == 0 && len(p.Finally) == 0 && rp.RuntimeVersions == nil {
			return nil, fail("$.phases."+pn, "phases."+pn, "has no commands")
		}
		for i, c := range append(append([]string{}, p.Commands...), p.Finally...) {
			if strings.TrimSpace(c) == "" {
				return nil, fail("$.phases."+pn, fmt.Sprintf("phases.%s.commands[%d]", pn, i), "empty command")
			}
		}
		bs.Phases = append(bs.Phases, p)
	}
	if a := raw.Artifacts; a != nil {
		if len(a.Files) == 0 {
			return nil, fail("$.artifacts", "artifacts.files", "missing: list the files to keep, e.g. ['**/*']")
		}
		bs.Artifacts = Artifacts{Files: a.Files, BaseDirectory: a.BaseDirectory, Name: a.Name}
		switch v := a.DiscardPaths.(type) {
		case nil:
		case bool:
			bs.Artifacts.DiscardPaths = v
		case string:
			switch strings.ToLower(v) {
			case "yes", "true":
				bs.Artifacts.DiscardPaths = true
			case "no", "false":
			default:
				return nil, fail("$.artifacts.discard-paths", "artifacts.discard-paths", "%q: want yes or no", v)
			}
		default:
			return nil, fail("$.artifacts.discard-paths", "artifacts.discard-paths", "want yes or no")
		}
		for i, f := range append(append([]string{}, a.Files...), a.BaseDirectory) {
			if f == "" && i == len(a.Files) {
				continue
			}
			if strings.HasPrefix(f, "/") || strings.Contains("/"+f+"/", "/../") {
				return nil, fail("$.artifacts", "artifacts.files", "%q must stay inside the source directory", f)
			}
		}
	}
	return bs, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// yamlError turns a go-yaml error into a *BuildspecError with its line.
func yamlError(name string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		line := 0
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line = tk.Position.Line
		}
		return &BuildspecError{File: name, Line: line, Msg: ye.GetMessage()}
	}
	return &BuildspecError{File: name, Msg: err.Error()}
}

// lineAt returns the line of the node at a YAML path, or 0.
func lineAt(file *ast.File, path string) int {
	if file == nil {
		return 0
	}
	p, err := yaml.PathString(path)
	if err != nil {
		return 0
	}
	node, err := p.FilterFile(file)
	if err != nil || node == nil {
		return 0
	}
	tk := node.GetToken()
	if tk == nil || tk.Position == nil {
		return 0
	}
	// A block mapping or sequence starts on the line after its key; point
	// at the key: the nearest earlier ':' on an earlier line.
	if tk.Type == token.MappingValueType || tk.Type == token.SequenceEntryType {
		for p := tk.Prev; p != nil && p.Position != nil; p = p.Prev {
			if p.Type == token.MappingValueType && p.Position.Line < tk.Position.Line {
				return p.Position.Line
			}
		}
	}
	return tk.Position.Line
}

// decodeStrict decodes YAML refusing unknown fields. go-yaml can panic on
// some malformed input (found by fuzzing); that is reported as an error.
func decodeStrict(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed YAML (%v)", r)
		}
	}()
	return yaml.NewDecoder(bytes.NewReader(data), yaml.Strict(), yaml.DisallowUnknownField()).Decode(v)
}
