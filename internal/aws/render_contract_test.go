package aws

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

func fileOf(t *testing.T, b *Bundle, path string) obj {
	t.Helper()
	for _, f := range b.Files {
		if f.Path == path {
			var m map[string]any
			if err := json.Unmarshal(f.Data, &m); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			return m
		}
	}
	t.Fatalf("no %s rendered", path)
	return nil
}

func rawOf(b *Bundle, path string) []byte {
	for _, f := range b.Files {
		if f.Path == path {
			return f.Data
		}
	}
	return nil
}

// TestRenderContract pins what the issue asks of each document.
func TestRenderContract(t *testing.T) {
	b, err := Render(testSpec(), testLive())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Placeholders) != 0 {
		t.Errorf("live render left placeholders %v", b.Placeholders)
	}
	td, err := awsfmt.ParseTaskDef("taskdef.json", rawOf(b, "taskdef.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c := td.Container("web"); c == nil || c.Image != awsfmt.ImagePlaceholder || c.PortMappings[0].ContainerPort != 3000 {
		t.Errorf("taskdef container = %+v", td.Containers)
	}
	as, err := awsfmt.ParseAppSpec("appspec.yaml", rawOf(b, "appspec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if as.TaskDefinition != TaskDefinitionPlaceholder || as.ContainerName != "web" || as.ContainerPort != 3000 {
		t.Errorf("appspec = %+v", as)
	}
	bs := string(rawOf(b, ".buildspec.yml"))
	for _, want := range []string{"imageDetail.json", "taskdef.json", "appspec.yaml", "docker push", "version: 0.2"} {
		if !strings.Contains(bs, want) {
			t.Errorf("buildspec lacks %q", want)
		}
	}
	svc := fileOf(t, b, "aws/service-definition.json")
	if svc.str("deploymentController.type") != "CODE_DEPLOY" || svc.str("loadBalancers[0].containerName") != "web" {
		t.Errorf("service = %v", svc)
	}
	p := fileOf(t, b, "aws/pipeline.json")
	if p.str("pipeline.pipelineType") != "V2" || p.str("pipeline.triggers[0].gitConfiguration.push[0].tags.includes[0]") != "v*" ||
		p.str("pipeline.triggers[0].gitConfiguration.sourceActionName") != "Source" {
		t.Errorf("pipeline trigger = %v", p.get("pipeline.triggers"))
	}
	deploy := p.list("pipeline.stages")[2].list("actions")[0]
	if deploy.str("actionTypeId.provider") != "CodeDeployToECS" {
		t.Errorf("deploy provider = %q", deploy.str("actionTypeId.provider"))
	}
	for _, k := range []string{"TaskDefinitionTemplateArtifact", "AppSpecTemplateArtifact", "Image1ArtifactName", "Image1ContainerName"} {
		if deploy.str("configuration."+k) == "" {
			t.Errorf("deploy action lacks %s", k)
		}
	}
	if bytes.Contains(rawOf(b, "aws/pipeline.json"), []byte("imagedefinitions")) {
		t.Error("CodeDeploy pipeline mentions imagedefinitions.json")
	}
	g := fileOf(t, b, "aws/deployment-group.json")
	if g.get("autoRollbackConfiguration.enabled") != true || len(g.arr("autoRollbackConfiguration.events")) != 3 ||
		g.str("alarmConfiguration.alarms[0].name") != "hello-green-5xx" || g.str("alarmConfiguration.alarms[1].name") != "hello-green-p99" {
		t.Errorf("deployment group rollback/alarms = %v %v", g.get("autoRollbackConfiguration"), g.get("alarmConfiguration"))
	}
	for _, a := range []string{"aws/alarm-green-5xx.json", "aws/alarm-green-p99.json"} {
		if !strings.Contains(string(rawOf(b, a)), "targetgroup/hello-green/2453ed029918f21f") {
			t.Errorf("%s is not on the green target group:\n%s", a, rawOf(b, a))
		}
	}
	lp := fileOf(t, b, "aws/ecr-lifecycle-policy.json")
	if len(lp.list("rules")) != 2 {
		t.Errorf("lifecycle policy = %v", lp)
	}

	// ECS native: CANARY 10% for 5 minutes, bake time, green as the alternate target group.
	s := testSpec()
	s.Controller = ControllerECS
	e, err := Render(s, testLive())
	if err != nil {
		t.Fatal(err)
	}
	es := fileOf(t, e, "aws/service-definition.json")
	if es.str("deploymentController.type") != "ECS" || es.str("deploymentConfiguration.strategy") != "CANARY" ||
		es.str("deploymentConfiguration.canaryConfiguration.canaryPercent") != "10" ||
		es.str("deploymentConfiguration.canaryConfiguration.canaryBakeTimeInMinutes") != "5" ||
		es.str("deploymentConfiguration.bakeTimeInMinutes") != "5" ||
		!strings.Contains(es.str("loadBalancers[0].advancedConfiguration.alternateTargetGroupArn"), "hello-green") {
		t.Errorf("ECS service = %s", rawOf(e, "aws/service-definition.json"))
	}
	if rawOf(e, "appspec.yaml") != nil || rawOf(e, "aws/deployment-group.json") != nil {
		t.Error("ECS mode rendered CodeDeploy files")
	}
	if !strings.Contains(string(rawOf(e, ".buildspec.yml")), "imagedefinitions.json") {
		t.Error("ECS buildspec does not write imagedefinitions.json")
	}
}

func TestRenderIsStable(t *testing.T) {
	for i := 0; i < 3; i++ {
		a, _ := Render(testSpec(), testLive())
		b, _ := Render(testSpec(), testLive())
		for j := range a.Files {
			if !bytes.Equal(a.Files[j].Data, b.Files[j].Data) {
				t.Fatalf("%s differs between two renders", a.Files[j].Path)
			}
		}
	}
}

func TestSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Spec)
		want string
	}{
		{"service", func(s *Spec) { s.Service = "Hello World" }, "service name"},
		{"region", func(s *Spec) { s.Region = "" }, "region"},
		{"account", func(s *Spec) { s.Account = "12" }, "account"},
		{"controller", func(s *Spec) { s.Controller = "LAMBDA" }, "controller"},
		{"ports", func(s *Spec) { s.ProductionPort, s.TestPort = 80, 80 }, "both 80"},
		{"seconds", func(s *Spec) {
			s.DeploymentConfig = ""
			s.Routing = awsfmt.TrafficRouting{Type: awsfmt.TimeBasedCanary, Percent: 10, Interval: 90e9}
		}, "whole minutes"},
	} {
		s := testSpec()
		tc.mod(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if NamesFor(Spec{Service: strings.Repeat("a", 60)}).BlueTargetGroup != NamesFor(Spec{Service: strings.Repeat("a", 60)}).BlueTargetGroup ||
		len(NamesFor(Spec{Service: strings.Repeat("a", 60)}).GreenTargetGroup) > 32 {
		t.Error("target group names are not capped at 32 characters")
	}
}
