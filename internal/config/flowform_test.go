package config

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// decodeAny decodes a document into plain values, or says why it cannot.
func decodeAny(data []byte) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errPanic
		}
	}()
	err = yaml.NewDecoder(bytes.NewReader(data), yaml.Strict()).Decode(&v)
	return v, err
}

var errPanic = &Error{Msg: "panic"}

// sameMeaning fails t when the flow form of doc, if there is one, does not
// decode to what doc decodes to, or does not keep its lines.
func sameMeaning(t *testing.T, doc string) {
	t.Helper()
	flow, ok := flowForm([]byte(doc))
	if !ok {
		return
	}
	if got, want := bytes.Count(flow, []byte("\n")), strings.Count(doc, "\n"); got != want {
		t.Fatalf("flow form of %q has %d lines, want %d:\n%s", doc, got, want, flow)
	}
	want, werr := decodeAny([]byte(doc))
	got, gerr := decodeAny(flow)
	if (werr == nil) != (gerr == nil) || werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("document %q\nflow form %q\nblock: %#v, %v\nflow:  %#v, %v", doc, flow, want, werr, got, gerr)
	}
	_, werr = Parse("c.yaml", []byte(doc))
	_, gerr = Parse("c.yaml", flow)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("document %q: Parse = %v, of the flow form %v", doc, werr, gerr)
	}
}

var flowSeeds = []string{
	"release:\n  tag_prefix: rel-\n",
	"service:\n  name: hello\n  env:\n    A: b\n    C: \"d e\"\n  runtime: docker\n",
	"aws:\n  subnets:\n  - subnet-0123abcd\n  - subnet-4567ef01\n  region: eu-west-1\n",
	"aws:\n  test_listener_cidrs: [203.0.113.0/24]\n  cpu: 1024 # comment\n# alone\n\n  memory: 3072\n",
	"service:\n  name:\n  env: {}\n",
	"a: 1\n   b: 2\n",
	"- a\n- b\n",
	"a:\n  - x\n  -\n",
	"a: 'it''s'\nb: \"q\\\"x\"\nc: ~\nd: yes\ne: 0x10\n",
	"a: b\na: c\n",
	fullService,
}

func TestFlowFormKeepsMeaning(t *testing.T) {
	for _, doc := range flowSeeds {
		sameMeaning(t, doc)
	}
	if _, ok := flowForm([]byte(fullService)); ok {
		t.Log("fullService has a URL: left to go-yaml")
	}
	if _, ok := flowForm(manyEnv(10)); !ok {
		t.Error("a plain env mapping is not rewritten")
	}
}

func FuzzFlowForm(f *testing.F) {
	for _, s := range flowSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if len(doc) > 4096 {
			return
		}
		sameMeaning(t, doc)
	})
}
