// Package config loads canaryflow.yaml: one file at the repository root that
// describes how a team releases (and, in later sections, what it deploys).
//
// Loading is strict — an unknown key is an error, not a silent typo — and
// every error names the file and line, so a user fixes it without guessing.
// A missing file is not an error: the defaults describe the guide's process.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/canaryflow/canaryflow/internal/fileerr"
	"github.com/canaryflow/canaryflow/internal/userfile"
)

// FileName is the configuration file canaryflow looks for at the repository root.
const FileName = "canaryflow.yaml"

// Config is the whole of canaryflow.yaml after defaults are applied and
// validation has passed.
type Config struct {
	// Path is the file the configuration came from; empty when no file
	// exists and the defaults are in force.
	Path string `yaml:"-"`

	// Release describes the Gitflow branches, tag prefix and version files.
	Release Release `yaml:"release"`

	// Service describes what is deployed and how; nil when the file has no
	// service section (release commands need none).
	Service *Service `yaml:"service"`

	// AWS describes where the service runs on AWS (the aws commands).
	AWS AWS `yaml:"aws"`

	// Pipeline is the local tag → build → deploy pipeline; nil when the
	// file has no pipeline section.
	Pipeline *Pipeline `yaml:"pipeline"`

	// Notifications are where the daemon posts pipeline and deployment
	// events; nil sends none.
	Notifications []Notification `yaml:"notifications"`

	// Empty means the file exists but holds no settings (nothing, only
	// comments, or only "---"): the defaults are in force.
	Empty bool `yaml:"-"`
}

// Missing says, for a command that needs section, why the configuration
// lacks it and what to do: no file at all, an empty file, or a file
// without that section.
func (c *Config) Missing(section string) string {
	switch {
	case c.Path == "":
		return fmt.Sprintf("no %s here, so no %s section: run `canaryflow init` to write a commented one", FileName, section)
	case c.Empty:
		return fmt.Sprintf("%s is empty, so it has no %s section: add one (`canaryflow init --force` writes a commented file)", c.Path, section)
	}
	return fmt.Sprintf("%s has no %s section: add one (`canaryflow init --force` overwrites it with a commented file that has every section)", c.Path, section)
}

// Error is a configuration problem with the place it was found. It is the
// one file:line error type of package fileerr, which awsfmt shares.
type Error = fileerr.Error

// Default returns the configuration used when there is no file.
func Default() *Config {
	c := &Config{}
	c.Release.applyDefaults()
	return c
}

// Load reads the file at path. When path is empty it looks for FileName in
// dir; a missing file there yields Default(). A file over userfile.MaxSize
// (1 MiB) or one that is not a regular file is refused (exit 2).
func Load(dir, path string) (*Config, error) {
	explicit := path != ""
	if !explicit {
		path = filepath.Join(dir, FileName)
	}
	data, err := userfile.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		if !explicit {
			return Default(), nil
		}
		return nil, &Error{Path: path, Msg: "no such file: run `canaryflow init` to write canaryflow.yaml, or give --config (or $CANARYFLOW_CONFIG) the path of yours"}
	}
	var refused *userfile.Error
	if errors.As(err, &refused) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a configuration document. name is used in
// error messages only.
func Parse(name string, data []byte) (*Config, error) {
	c := &Config{Path: name}
	forgetTree() // a caller may have reused data's memory for a new document
	if flow, ok := flowForm(data); ok {
		data = flow // the same document, line for line, parsed in linear time
	} else if err := checkBlockSizes(name, data); err != nil {
		return nil, err
	}
	c.Empty = true
	if len(bytes.TrimSpace(data)) > 0 {
		// A document of only comments or "---" decodes to io.EOF: it is
		// an empty file, as one of zero bytes.
		err := decodeStrict(data, c)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, decodeError(name, data, err)
		}
		c.Empty = err != nil
	}
	c.Path = name
	c.Release.applyDefaults()
	if err := c.validate(data); err != nil {
		return nil, err
	}
	return c, nil
}

// lineOf finds the line of a field given as a YAML path like
// "$.release.tag_prefix"; 0 when the field is not in the document.
func lineOf(data []byte, yamlPath string) (line int) {
	defer func() {
		if recover() != nil {
			line = 0 // go-yaml can panic on odd documents; the line is a nicety
		}
	}()
	p, err := yaml.PathString(yamlPath)
	if err != nil {
		return 0
	}
	f := syntaxTree(data)
	if f == nil {
		return 0
	}
	node, err := p.FilterFile(f)
	if err != nil || node == nil {
		return 0
	}
	if tk := node.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

// lastTree is the syntax tree of the document lineOf last looked in.
// Validation asks for a line per problem, and parsing the document again
// for each made a file with many bad entries quadratic. It is a package
// variable, against the style, so that every section's validate keeps
// taking the document as plain bytes.
var lastTree struct {
	sync.Mutex
	data []byte
	file *ast.File
}

// forgetTree drops the cached tree.
func forgetTree() {
	lastTree.Lock()
	lastTree.data, lastTree.file = nil, nil
	lastTree.Unlock()
}

// syntaxTree parses data once for any number of lineOf calls on it.
func syntaxTree(data []byte) *ast.File {
	lastTree.Lock()
	defer lastTree.Unlock()
	same := len(data) == len(lastTree.data) && (len(data) == 0 || &data[0] == &lastTree.data[0])
	if !same {
		f, err := parser.ParseBytes(data, 0)
		if err != nil {
			f = nil
		}
		lastTree.data, lastTree.file = data, f
	}
	return lastTree.file
}

// fieldError builds an *Error for a dotted field, locating it in data.
func fieldError(name string, data []byte, field, format string, a ...any) *Error {
	return &Error{
		Path:  name,
		Line:  lineOf(data, "$."+field),
		Field: field,
		Msg:   fmt.Sprintf(format, a...),
	}
}

func (c *Config) validate(data []byte) error {
	var errs []error
	errs = append(errs, c.Release.validate(c.Path, data)...)
	errs = append(errs, c.AWS.validate(c.Path, data, c.Release)...)
	if c.Service != nil {
		errs = append(errs, c.Service.validate(c.Path, data)...)
	}
	if c.Pipeline != nil {
		c.Pipeline.applyDefaults(c.Release)
		errs = append(errs, c.Pipeline.validate(c.Path, data, c.Service)...)
	}
	errs = append(errs, validateNotifications(c.Path, data, c.Notifications)...)
	return errors.Join(errs...)
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
