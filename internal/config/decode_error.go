package config

import (
	"errors"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// decodeError turns a go-yaml error into an *Error that names the YAML path
// and the line of its key, in the file's words rather than Go's:
// "canaryflow.yaml:1: release: want a map of settings, got a list", not
// "cannot unmarshal []interface {} into Go struct field Config.Release".
func decodeError(name string, data []byte, err error) error {
	var se yaml.Error
	if !errors.As(err, &se) {
		return &Error{Path: name, Msg: err.Error()}
	}
	tk := se.GetToken()
	e := &Error{Path: name, Msg: se.GetMessage()}
	if tk != nil && tk.Position != nil {
		e.Line = tk.Position.Line
		if field, line := placeOf(data, tk); field != "" {
			e.Field, e.Line = field, line
		}
	}
	var te *yaml.TypeError
	var ue *yaml.UnexpectedNodeTypeError
	switch {
	case errors.As(err, &te):
		e.Msg = "want " + goKind(te.DstType) + ", got " + goKind(te.SrcType)
	case errors.As(err, &ue):
		e.Msg = "want " + nodeKind(ue.Expected) + ", got " + nodeKind(ue.Actual)
	}
	return e
}

// placeOf finds the value the token tk belongs to and returns its dotted
// field path ("release.main_branch", "service.hooks[0]") and the line of
// its key; "" when tk is not inside a mapping value.
func placeOf(data []byte, tk *token.Token) (field string, line int) {
	defer func() {
		if recover() != nil {
			field, line = "", 0 // the place is a nicety; go-yaml can panic on odd documents
		}
	}()
	f := syntaxTree(data)
	if f == nil {
		return "", 0
	}
	for _, doc := range f.Docs {
		if p, l, ok := findToken(doc.Body, tk, 0); ok {
			return strings.TrimPrefix(strings.TrimPrefix(p, "$"), "."), l
		}
	}
	return "", 0
}

// findToken searches n for the node that starts at tk's position; keyLine is
// the line of the key of the innermost mapping value around n.
func findToken(n ast.Node, tk *token.Token, keyLine int) (string, int, bool) {
	if n == nil || reflect.ValueOf(n).IsNil() {
		return "", 0, false
	}
	if t := n.GetToken(); t != nil && t.Position != nil && sameSpot(t, tk) {
		return n.GetPath(), keyLine, true
	}
	switch v := n.(type) {
	case *ast.MappingNode:
		for _, mv := range v.Values {
			if p, l, ok := findToken(mv, tk, keyLine); ok {
				return p, l, true
			}
		}
		if sameStart(v, tk) {
			return v.GetPath(), keyLine, true
		}
	case *ast.MappingValueNode:
		kl := keyLine
		if kt := v.Key.GetToken(); kt != nil && kt.Position != nil {
			kl = kt.Position.Line
		}
		if sameSpot(v.Key.GetToken(), tk) {
			return v.Value.GetPath(), kl, true
		}
		return findToken(v.Value, tk, kl)
	case *ast.SequenceNode:
		for _, item := range v.Values {
			if p, l, ok := findToken(item, tk, keyLine); ok {
				return p, l, true
			}
		}
		if sameStart(v, tk) {
			return v.GetPath(), keyLine, true
		}
	case *ast.AnchorNode:
		return findToken(v.Value, tk, keyLine)
	case *ast.TagNode:
		return findToken(v.Value, tk, keyLine)
	}
	return "", 0, false
}

func sameSpot(a, b *token.Token) bool {
	return a != nil && b != nil && a.Position != nil && b.Position != nil &&
		a.Position.Line == b.Position.Line && a.Position.Column == b.Position.Column
}

// sameStart reports whether a collection's first entry starts at tk, as
// go-yaml reports a block sequence or mapping by its first token.
func sameStart(n ast.Node, tk *token.Token) bool {
	switch v := n.(type) {
	case *ast.SequenceNode:
		return len(v.Values) > 0 && v.Start != nil && sameSpot(v.Start, tk)
	case *ast.MappingNode:
		return len(v.Values) > 0 && sameSpot(v.Values[0].Key.GetToken(), tk)
	}
	return false
}

// nodeKind says what a YAML node is in a user's words.
func nodeKind(t ast.NodeType) string {
	switch t {
	case ast.MappingType, ast.MappingValueType:
		return "a map of settings"
	case ast.SequenceType:
		return "a list"
	case ast.StringType, ast.LiteralType:
		return "text"
	case ast.IntegerType:
		return "a whole number"
	case ast.FloatType, ast.InfinityType, ast.NanType:
		return "a number"
	case ast.BoolType:
		return "true or false"
	case ast.NullType:
		return "nothing"
	}
	return t.YAMLName()
}

// goKind says what a Go type holds in a user's words.
func goKind(t reflect.Type) string {
	if t == nil {
		return "nothing"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "Duration" {
		return "a duration such as 30s or 5m"
	}
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "a map of settings"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "text"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	}
	return t.String()
}
