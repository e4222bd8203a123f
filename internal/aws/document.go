package aws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// memberCase says how an AWS protocol names members on the wire, which is
// also how the AWS CLI's --cli-input-json names them.
type memberCase int

const (
	// camelCase is the JSON protocols' style (ecs, codedeploy,
	// codepipeline, codebuild, ecr): the Go field name with its first
	// letter lowered.
	camelCase memberCase = iota
	// pascalCase is the query protocols' style (iam, elbv2, cloudwatch):
	// the Go field name as it is.
	pascalCase
)

// document renders an SDK input struct as the JSON the AWS CLI accepts for
// --cli-input-json, so the files a team reads are exactly what apply sends.
// Zero scalars that are not pointers are left out, as the SDK's own
// serializers leave them out.
func document(v any, mc memberCase) ([]byte, error) {
	tree, ok := toTree(reflect.ValueOf(v), mc)
	if !ok {
		return nil, fmt.Errorf("render %T: nothing to render", v)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <IMAGE1_NAME> readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(tree); err != nil {
		return nil, fmt.Errorf("render %T: %w", v, err)
	}
	return buf.Bytes(), nil
}

// orderedObject keeps struct field order in the output.
type orderedObject struct {
	keys []string
	vals map[string]any
}

func (o *orderedObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(k); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1) // Encode adds a newline
		buf.WriteByte(':')
		if err := enc.Encode(o.vals[k]); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// toTree converts v into plain JSON values; ok is false for values that are
// absent (nil pointers, empty slices, unset scalars).
func toTree(v reflect.Value, mc memberCase) (any, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, false
		}
		elem := v.Elem()
		if elem.Kind() != reflect.Struct && elem.Kind() != reflect.Slice && elem.Kind() != reflect.Map {
			return elem.Interface(), true // a set pointer scalar counts even when zero
		}
		return toTree(elem, mc)
	case reflect.Struct:
		o := &orderedObject{vals: map[string]any{}}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Anonymous {
				continue
			}
			val, ok := toTree(v.Field(i), mc)
			if !ok {
				continue
			}
			name := f.Name
			if mc == camelCase {
				r, size := utf8.DecodeRuneInString(name)
				name = string(unicode.ToLower(r)) + name[size:]
			}
			o.keys = append(o.keys, name)
			o.vals[name] = val
		}
		if len(o.keys) == 0 {
			return nil, false
		}
		return o, true
	case reflect.Slice:
		if v.Len() == 0 {
			return nil, false
		}
		out := make([]any, 0, v.Len())
		for i := range v.Len() {
			if val, ok := toTree(v.Index(i), mc); ok {
				out = append(out, val)
			}
		}
		return out, true
	case reflect.Map:
		if v.Len() == 0 {
			return nil, false
		}
		o := &orderedObject{vals: map[string]any{}}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			if val, ok := toTree(v.MapIndex(k), mc); ok {
				o.keys = append(o.keys, k.String())
				o.vals[k.String()] = val
			}
		}
		return o, true
	case reflect.String:
		if v.Len() == 0 {
			return nil, false
		}
		return v.String(), true
	case reflect.Bool:
		return v.Bool(), v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), v.Int() != 0
	case reflect.Float32, reflect.Float64:
		return v.Float(), v.Float() != 0
	}
	return nil, false
}

// policyJSON renders an IAM policy document compactly but readably.
func policyJSON(p any) string {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("policy document: %v", err)) // the types are ours; cannot fail
	}
	return strings.TrimSpace(string(b))
}
