package awsfmt

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCodeBuildProject(t *testing.T) {
	vars, err := ParseCodeBuildProject("p.json", []byte(`{"name": "b", "source": {"type": "CODEPIPELINE"},
  "environment": {"computeType": "BUILD_GENERAL1_SMALL", "environmentVariables": [
    {"name": "AWS_REGION", "value": "us-west-2"},
    {"name": "TOKEN", "value": "/ci/token", "type": "PARAMETER_STORE"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(vars) != 2 || vars[0] != (BuildVariable{"AWS_REGION", "us-west-2", VariablePlaintext}) || vars[1].Type != VariableParameterStore {
		t.Errorf("vars = %+v", vars)
	}
	for _, tc := range []struct{ doc, want string }{
		{``, "p.json: empty file"},
		{`[]`, "p.json:1: want a JSON object"},
		{`{"name": "b"}`, "p.json: environment: missing"},
		{"{\"environment\": {\"environmentVariables\": [\n  {\"name\": \"A B\", \"value\": \"x\"}]}}", `p.json:2: environment.environmentVariables[0].name: "A B" is not a variable name`},
		{`{"environment": {"environmentVariables": [{"name": "A", "value": "x", "type": "PLAIN"}]}}`, `type: "PLAIN": want PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER`},
		{`{"environment": {"environmentVariables": [{"name": "A", "value": 3}]}}`, "p.json:1"},
	} {
		_, err := ParseCodeBuildProject("p.json", []byte(tc.doc))
		var fe *Error
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want a file error containing %q", tc.doc, err, tc.want)
		}
	}
}

func TestParseImageFiles(t *testing.T) {
	if uri, err := ParseImageDetail("d.json", []byte(`{"ImageURI": "r/x:1"}`)); err != nil || uri != "r/x:1" {
		t.Errorf("imageDetail: %q %v", uri, err)
	}
	if uri, err := ParseImageDefinitions("d.json", []byte(`[{"name":"a","imageUri":"r/a:1"},{"name":"web","imageUri":"r/w:1"}]`), "web"); err != nil || uri != "r/w:1" {
		t.Errorf("imagedefinitions: %q %v", uri, err)
	}
	for _, tc := range []struct {
		defs bool
		doc  string
		want string
	}{
		{false, ``, "empty file"},
		{false, `{"Image": "x"}`, "ImageURI: missing"},
		{false, `{"ImageURI": `, "invalid JSON"},
		{true, `{}`, "d.json:1"},
		{true, `[{"name":"api","imageUri":"r/a:1"}]`, `no entry for container "web" (found "api")`},
		{true, `[]`, `no entry for container "web" (found none)`},
		{true, `[{"name":"web","imageUri":""}]`, "imageUri: missing"},
	} {
		var err error
		if tc.defs {
			_, err = ParseImageDefinitions("d.json", []byte(tc.doc), "web")
		} else {
			_, err = ParseImageDetail("d.json", []byte(tc.doc))
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func FuzzParseCodeBuildProject(f *testing.F) {
	f.Add([]byte(`{"environment": {"environmentVariables": [{"name": "A", "value": "x"}]}}`))
	f.Add([]byte(`{"environment": {"environmentVariables": [{"name": "A", "value": "/p", "type": "SECRETS_MANAGER"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := ParseCodeBuildProject("f.json", data)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a file error", err)
			}
			return
		}
		for _, v := range vars {
			if !buildVariableName.MatchString(v.Name) || v.Type == "" {
				t.Fatalf("accepted %+v", v)
			}
		}
	})
}

func FuzzParseImageFiles(f *testing.F) {
	f.Add([]byte(`{"ImageURI": "r/x:1"}`))
	f.Add([]byte(`[{"name":"web","imageUri":"r/w:1"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if uri, err := ParseImageDetail("f.json", data); err == nil && strings.TrimSpace(uri) == "" {
			t.Fatal("an empty ImageURI accepted")
		}
		if uri, err := ParseImageDefinitions("f.json", data, "web"); err == nil && strings.TrimSpace(uri) == "" {
			t.Fatal("an empty imageUri accepted")
		}
	})
}
