package awsfmt

import (
	"errors"
	"strings"
	"testing"
)

const goodTaskDef = `{
  "family": "hello",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": 512,
  "executionRoleArn": "arn:aws:iam::111122223333:role/ecsTaskExecutionRole",
  "containerDefinitions": [
    {
      "name": "hello",
      "image": "<IMAGE1_NAME>",
      "essential": true,
      "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
      "environment": [{"name": "GREETING", "value": "hi"}],
      "logConfiguration": {"logDriver": "awslogs", "options": {}}
    }
  ]
}
`

func TestParseTaskDef(t *testing.T) {
	td, err := ParseTaskDef("taskdef.json", []byte(goodTaskDef))
	if err != nil {
		t.Fatal(err)
	}
	if td.Family != "hello" || td.CPU != 256 || td.Memory != 512 || len(td.Containers) != 1 {
		t.Fatalf("got %+v", td)
	}
	c := td.Container("hello")
	if c == nil || c.Image != ImagePlaceholder || !c.Essential || c.Environment["GREETING"] != "hi" ||
		len(c.PortMappings) != 1 || c.PortMappings[0].ContainerPort != 8080 || c.PortMappings[0].Protocol != "tcp" {
		t.Errorf("container = %+v", c)
	}
	if td.Container("nope") != nil {
		t.Error("Container(nope) != nil")
	}
}

func TestParseTaskDefErrors(t *testing.T) {
	swap := func(old, new string) string { return strings.Replace(goodTaskDef, old, new, 1) }
	for _, tc := range []struct{ name, doc, want string }{
		{"empty", "", "t.json: empty task definition"},
		{"syntax", swap(`"cpu": "256",`, `"cpu": "256"`), "t.json:6: invalid JSON"},
		{"not an object", "[1, 2]", "t.json:1: want a JSON object"},
		{"wrong type", swap(`"containerPort": 8080`, `"containerPort": "8080"`), "t.json:13: containerDefinitions.portMappings.containerPort: is a JSON string"},
		{"unknown top key", swap(`"networkMode"`, `"netwrokMode"`), "t.json:3: netwrokMode: unknown task definition key"},
		{"typo suggestion", swap(`"portMappings"`, `"portMapping"`), `(did you mean "portMappings"?)`},
		{"unknown env key", swap(`"value": "hi"`, `"val": "hi"`), `containerDefinitions[0].environment[0].val`},
		{"no family", swap(`"family": "hello",`, ""), "family: missing"},
		{"bad cpu", swap(`"cpu": "256"`, `"cpu": "lots"`), `t.json:5: cpu: "lots" is not a positive`},
		{"no containers", `{"family": "x", "containerDefinitions": []}`, "containerDefinitions: want at least one"},
		{"no image", swap(`"image": "<IMAGE1_NAME>",`, ""), "image is missing"},
		{"no name", swap(`"name": "hello",`, ""), "containerDefinitions[0]: name is missing"},
		{"bad port", swap("8080", "0"), "containerPort 0 is not a port"},
		{"bad protocol", swap(`"tcp"`, `"sctp"`), `protocol "sctp"`},
		{"env without name", swap(`"name": "GREETING", `, ""), "environment[0]: name is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTaskDef("t.json", []byte(tc.doc))
			if err == nil {
				t.Fatalf("no error for:\n%s", tc.doc)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			var ae *Error
			if !errors.As(err, &ae) {
				t.Errorf("error %T is not an *awsfmt.Error", err)
			}
		})
	}
}

func FuzzParseTaskDef(f *testing.F) {
	f.Add([]byte(goodTaskDef))
	f.Add([]byte(`{"family":"x","containerDefinitions":[{"name":"a","image":"b"}]}`))
	f.Add([]byte(`{"cpu": 1e99}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		td, err := ParseTaskDef("f.json", data)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %T %v is not an *awsfmt.Error", err, err)
			}
			return
		}
		if td.Family == "" || len(td.Containers) == 0 {
			t.Fatalf("accepted an invalid task definition: %+v", td)
		}
	})
}
