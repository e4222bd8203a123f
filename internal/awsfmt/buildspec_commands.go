package awsfmt

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// CommandNotString is a buildspec command YAML reads as something other
// than a string: most often an unquoted command holding ": ", such as
// echo "Image Tag: $IMAGE_TAG", which YAML reads as a map. CodeBuild stops
// such a build with YAML_FILE_ERROR before any phase runs.
type CommandNotString struct {
	Phase string // install, pre_build, build or post_build
	List  string // commands or finally
	Index int    // 0-based, as CodeBuild counts
	Line  int    // 1-based line of the command
	Text  string // the command as written (the rest of its line)
	Kind  string // "subkeys" for a map, "a list" for a sequence
}

// CodeBuildMessage is CodeBuild's own wording for the problem.
func (c CommandNotString) CodeBuildMessage() string {
	return fmt.Sprintf("YAML_FILE_ERROR: Expected Commands[%d] to be of string type: found %s instead at line %d", c.Index, c.Kind, c.Line)
}

// Fix is the command quoted whole, as it should be written.
func (c CommandNotString) Fix() string {
	return "- '" + strings.ReplaceAll(c.Text, "'", "''") + "'"
}

// Error makes c one line: CodeBuild's message, then the fix.
func (c CommandNotString) Error(file string) *Error {
	return &Error{Path: file, Line: c.Line, Field: fmt.Sprintf("phases.%s.%s[%d]", c.Phase, c.List, c.Index),
		Msg: fmt.Sprintf("%s (%s): quote the whole command: %s", c.CodeBuildMessage(), c.why(), c.Fix())}
}

func (c CommandNotString) why() string {
	if c.Kind == "subkeys" {
		return `YAML reads an unquoted command holding ": " as a map`
	}
	return "YAML reads this command as a list"
}

// BuildspecCommandsNotStrings finds the phase commands of a buildspec that
// are not strings, in the order they appear. A document that does not
// parse as YAML has none (the caller reports the syntax error).
func BuildspecCommandsNotStrings(data []byte) (out []CommandNotString) {
	defer func() {
		if recover() != nil {
			out = nil // go-yaml can panic on odd documents
		}
	}()
	file, err := parser.ParseBytes(data, 0)
	if err != nil || len(file.Docs) == 0 {
		return nil
	}
	lines := bytes.Split(data, []byte("\n"))
	phases := mapValue(file.Docs[0].Body, "phases")
	for _, pv := range mappingValues(phases) {
		phase := pv.Key.String()
		for _, list := range []string{"commands", "finally"} {
			seq, ok := unwrap(mapValue(pv.Value, list)).(*ast.SequenceNode)
			if !ok {
				continue
			}
			for i, v := range seq.Values {
				kind := ""
				switch unwrap(v).(type) {
				case *ast.MappingNode, *ast.MappingValueNode:
					kind = "subkeys"
				case *ast.SequenceNode:
					kind = "a list"
				default:
					continue
				}
				c := CommandNotString{Phase: phase, List: list, Index: i, Kind: kind}
				if tk := v.GetToken(); tk != nil && tk.Position != nil {
					c.Line = tk.Position.Line
					if c.Line-1 < len(lines) {
						text := strings.TrimSpace(string(lines[c.Line-1]))
						c.Text = strings.TrimSpace(strings.TrimPrefix(text, "-"))
					}
				}
				out = append(out, c)
			}
		}
	}
	return out
}

// unwrap strips anchors, tags and comments from a node.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.DocumentNode:
			n = v.Body
		default:
			return n
		}
	}
}

// mappingValues lists the key/value pairs of a mapping node.
func mappingValues(n ast.Node) []*ast.MappingValueNode {
	switch v := unwrap(n).(type) {
	case *ast.MappingNode:
		return v.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}
	}
	return nil
}

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(n ast.Node, key string) ast.Node {
	for _, mv := range mappingValues(n) {
		if mv.Key != nil && mv.Key.String() == key {
			return mv.Value
		}
	}
	return nil
}
