package awsfmt

import (
	"errors"
	"strings"
	"testing"
)

const goodAppSpec = `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "arn:aws:ecs:us-east-1:111122223333:task-definition/hello:3"
        LoadBalancerInfo:
          ContainerName: "hello"
          ContainerPort: 8080
        PlatformVersion: "LATEST"
        NetworkConfiguration:
          AwsvpcConfiguration:
            Subnets: ["subnet-1"]
            AssignPublicIp: "ENABLED"
Hooks:
  - BeforeInstall: "CheckBefore"
  - AfterAllowTestTraffic: "SmokeTest"
  - AfterAllowTraffic: "SmokeTest"
`

func TestParseAppSpec(t *testing.T) {
	s, err := ParseAppSpec("appspec.yaml", []byte(goodAppSpec))
	if err != nil {
		t.Fatal(err)
	}
	if s.ContainerName != "hello" || s.ContainerPort != 8080 || !strings.HasSuffix(s.TaskDefinition, "hello:3") {
		t.Errorf("got %+v", s)
	}
	if s.Hooks[HookBeforeInstall] != "CheckBefore" || s.Hooks[HookAfterAllowTraffic] != "SmokeTest" || len(s.Hooks) != 3 {
		t.Errorf("hooks = %v", s.Hooks)
	}
	if got := strings.Join(s.HookFunctions(), ","); got != "CheckBefore,SmokeTest" {
		t.Errorf("HookFunctions = %s", got)
	}
}

func TestParseAppSpecJSON(t *testing.T) {
	doc := `{"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service",
  "Properties": {"TaskDefinition": "<TASK_DEFINITION>", "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 80}}}}]}`
	s, err := ParseAppSpec("appspec.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if s.ContainerName != "web" || s.ContainerPort != 80 || len(s.Hooks) != 0 {
		t.Errorf("got %+v", s)
	}
}

func TestParseAppSpecErrors(t *testing.T) {
	swap := func(old, new string) string { return strings.Replace(goodAppSpec, old, new, 1) }
	for _, tc := range []struct{ name, doc, want string }{
		{"empty", "  \n", "a.yaml: empty AppSpec"},
		{"bad yaml", "version: 0.0\nResources: [\n", "a.yaml:"},
		{"unknown key", swap("PlatformVersion", "PlatformVerison"), "a.yaml:10"},
		{"wrong version", swap("version: 0.0", "version: 1.0"), "a.yaml:1: version: is 1"},
		{"no version", swap("version: 0.0", ""), "version: missing"},
		{"wrong type", swap("AWS::ECS::Service", "AWS::Lambda::Function"), "a.yaml:4: Resources[0].TargetService.Type"},
		{"no task def", swap(`TaskDefinition: "arn:aws:ecs:us-east-1:111122223333:task-definition/hello:3"`, ""), "TaskDefinition is missing"},
		{"no container", swap(`ContainerName: "hello"`, ""), "ContainerName is missing"},
		{"bad port", swap("8080", "70000"), "ContainerPort 70000"},
		{"port string", swap("8080", "http"), "a.yaml:9"},
		{"no resources", "version: 0.0\nResources: []\n", "a.yaml:2: Resources: want exactly one"},
		{"unknown hook", swap("BeforeInstall:", "BeforeBlockTraffic:"), "a.yaml:16: Hooks[0]: unknown ECS hook \"BeforeBlockTraffic\""},
		{"duplicate hook", swap("AfterAllowTraffic:", "BeforeInstall:"), "Hooks[2]: BeforeInstall is given twice"},
		{"empty hook", swap(`"CheckBefore"`, `""`), "BeforeInstall names no function"},
		{"two resources", strings.Replace(goodAppSpec, "Hooks:", "  - Other:\n      Type: AWS::ECS::Service\nHooks:", 1), "exactly one resource, got 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAppSpec("a.yaml", []byte(tc.doc))
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

func FuzzParseAppSpec(f *testing.F) {
	f.Add([]byte(goodAppSpec))
	f.Add([]byte("version: 0.0\nResources: []\n"))
	f.Add([]byte(`{"version": 0.0}`))
	f.Add([]byte("Hooks:\n  - BeforeInstall: x\n    AfterInstall: y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseAppSpec("f.yaml", data)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %T %v is not an *awsfmt.Error", err, err)
			}
			return
		}
		if s.ContainerName == "" || s.ContainerPort < 1 || s.ContainerPort > 65535 || s.TaskDefinition == "" {
			t.Fatalf("accepted an invalid spec: %+v", s)
		}
	})
}
