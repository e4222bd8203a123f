package aws

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func diagnoseDir(t *testing.T, dir string, spec *Spec) []Finding {
	t.Helper()
	d, err := ReadDocuments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return Diagnose(d, DoctorOptions{Spec: spec, LookupEnv: func(string) (string, bool) { return "", false }})
}

func TestDoctorFindsNothingInACorrectRender(t *testing.T) {
	for name, s := range renderVariants() {
		lives := []Live{{}, testLive()}
		if s.Service != "hello" {
			lives = lives[:1] // testLive's ARNs name hello's resources
		}
		for _, live := range lives {
			dir, _ := renderTo(t, s, live)
			for _, spec := range []*Spec{nil, &s} {
				if f := diagnoseDir(t, dir, spec); len(f) > 0 {
					t.Errorf("%s (spec %v): %v", name, spec != nil, f)
				}
			}
		}
	}
}

// TestDoctorOnTheGuidesFiles runs doctor over the files the guide wrote
// first, before each failure taught it a fix.
func TestDoctorOnTheGuidesFiles(t *testing.T) {
	got := map[string][]string{}
	for _, f := range diagnoseDir(t, "testdata/doctor/guide", nil) {
		got[f.Check] = append(got[f.Check], f.Problem+" | "+f.Fix)
	}
	for check, want := range map[string]string{
		CheckAppSpecPlaceholder: "<TASK_DEFINITION_ARN>, which nothing replaces",
		CheckPipelineTrigger:    "V1",
		CheckDeployAction:       "plain CodeDeploy action",
		CheckCodeDeployRole:     "s3:GetObject",
		CheckDeploymentGroup:    "automatic rollback is off",
	} {
		if !strings.Contains(strings.Join(got[check], "\n"), want) {
			t.Errorf("%s: findings %q do not mention %q", check, got[check], want)
		}
	}
	roles := strings.Join(got[CheckCodeDeployRole], "\n")
	for _, a := range []string{"s3:GetObject", "elasticloadbalancing:ModifyListener", "ecs:CreateTaskSet", "ecs:DeleteTaskSet", "ecs:UpdateServicePrimaryTaskSet"} {
		if !strings.Contains(roles, a) {
			t.Errorf("codedeploy-role findings miss %s", a)
		}
	}
	if strings.Contains(roles, `"ecs:DescribeServices"`) {
		t.Errorf("DescribeServices is granted but reported: %s", roles)
	}
}

// TestDoctorFindsPlantedFailures breaks one thing at a time in a correct
// render and expects exactly that failure class.
func TestDoctorFindsPlantedFailures(t *testing.T) {
	spec := testSpec()
	ecsSpec := testSpec()
	ecsSpec.Controller = ControllerECS
	for _, tc := range []struct {
		name  string
		spec  Spec
		file  string
		from  string
		to    string
		check string
		fix   string
	}{
		{"literal placeholder", spec, "appspec.yaml", `"<TASK_DEFINITION>"`, `"<TASK_DEFINITION_ARN>"`, CheckAppSpecPlaceholder, "<TASK_DEFINITION>"},
		{"placeholder with plain action", spec, "aws/pipeline.json", `"CodeDeployToECS"`, `"CodeDeploy"`, CheckAppSpecPlaceholder, "CodeDeployToECS"},
		{"plain ECS action for blue/green", spec, "aws/pipeline.json", `"CodeDeployToECS"`, `"ECS"`, CheckDeployAction, "CodeDeployToECS"},
		{"V1 pipeline", spec, "aws/pipeline.json", `"pipelineType": "V2"`, `"pipelineType": "V1"`, CheckPipelineTrigger, "V2"},
		{"no tag trigger", spec, "aws/pipeline.json", `"tags": {`, `"branches": {`, CheckPipelineTrigger, `"tags"`},
		{"service name", spec, "aws/deployment-group.json", `"serviceName": "hello"`, `"serviceName": "my-service"`, CheckNamesMatch, `"hello"`},
		{"cluster name", spec, "aws/deployment-group.json", `"clusterName": "hello"`, `"clusterName": "my-cluster"`, CheckNamesMatch, `"hello"`},
		{"appspec container", spec, "appspec.yaml", `ContainerName: "web"`, `ContainerName: "my-container"`, CheckNamesMatch, "web"},
		{"appspec port", spec, "appspec.yaml", `ContainerPort: 3000`, `ContainerPort: 8080`, CheckNamesMatch, "3000"},
		{"service container", spec, "aws/service-definition.json", `"containerName": "web"`, `"containerName": "app"`, CheckNamesMatch, "web"},
		{"task family", spec, "aws/service-definition.json", `"taskDefinition": "hello"`, `"taskDefinition": "other"`, CheckNamesMatch, `"hello"`},
		{"target group", spec, "aws/deployment-group.json", `"name": "hello-blue"`, `"name": "my-target-group"`, CheckNamesMatch, "my-target-group"},
		{"image placeholder", spec, "taskdef.json", `"<IMAGE1_NAME>"`, `"nginx:latest"`, CheckNamesMatch, "<IMAGE1_NAME>"},
		{"app name", spec, "aws/pipeline.json", `"ApplicationName": "hello"`, `"ApplicationName": "my-ecs-app"`, CheckNamesMatch, `"hello"`},
		{"no imageDetail", spec, ".buildspec.yml", "imageDetail.json", "image.json", CheckBuildOutput, "imageDetail.json"},
		{"no S3 for CodeDeploy", spec, "aws/iam/hello-codedeploy-policy.json", `"s3:GetObject",`, ``, CheckCodeDeployRole, "s3:GetObject"},
		{"no listener change", spec, "aws/iam/hello-codedeploy-policy.json", `"elasticloadbalancing:ModifyListener",`, ``, CheckCodeDeployRole, "ModifyListener"},
		{"no task sets", spec, "aws/iam/hello-codedeploy-policy.json", `"ecs:CreateTaskSet",`, ``, CheckCodeDeployRole, "ecs:CreateTaskSet"},
		{"wildcard action", spec, "aws/iam/hello-codebuild-policy.json", `"ecr:PutImage"`, `"ecr:*"`, CheckLeastPrivilege, "narrow"},
		{"unconditioned PassRole", spec, "aws/iam/hello-codepipeline-policy.json", `"iam:PassedToService"`, `"aws:SourceAccount"`, CheckLeastPrivilege, "narrow"},
		{"green fleet option", spec, "aws/deployment-group.json", `"deploymentReadyOption": {`, `"greenFleetProvisioningOption": {"action": "DISCOVER_EXISTING"}, "deploymentReadyOption": {`, CheckDeploymentGroup, "greenFleetProvisioningOption"},
		{"in-place style", spec, "aws/deployment-group.json", `"BLUE_GREEN"`, `"IN_PLACE"`, CheckDeploymentGroup, "BLUE_GREEN"},
		{"no auto rollback", spec, "aws/deployment-group.json", `"enabled": true,
    "events"`, `"enabled": false,
    "events"`, CheckDeploymentGroup, "autoRollbackConfiguration"},
		{"ECS mode V1", ecsSpec, "aws/pipeline.json", `"pipelineType": "V2"`, `"pipelineType": "V1"`, CheckPipelineTrigger, "V2"},
		{"bad json", spec, "taskdef.json", `{`, `[`, CheckUnreadable, "render"},
		{"build project", spec, "aws/pipeline.json", `"ProjectName": "hello-build"`, `"ProjectName": "my-microservice-build"`, CheckNamesMatch, `set ProjectName to "hello-build"`},
		{"alarm name", spec, "aws/alarm-green-5xx.json", `"AlarmName": "hello-green-5xx"`, `"AlarmName": "green-errors"`, CheckNamesMatch, `alarm "hello-green-5xx", which no alarm document defines`},
		{"target group name", spec, "aws/target-group-green.json", `"Name": "hello-green"`, `"Name": "my-target-group-green"`, CheckNamesMatch, `target group "hello-green", which no target group document defines`},
		{"account placeholder", spec, "taskdef.json", `arn:aws:iam::123456789012:`, `arn:aws:iam::your-account-id:`, CheckPlaceholder, "replace your-account-id with 123456789012"},
		{"trust policy for anyone", spec, "aws/iam/hello-codebuild-trust.json", `"Action": "sts:AssumeRole"`, `"Action": ["sts:AssumeRole", "sts:TagSession"]`, CheckLeastPrivilege, "sts:AssumeRole"},
		{"buildspec command map", spec, ".buildspec.yml", `      - IMAGE_TAG=`, `      - echo "Tag: $IMAGE_TAG"` + "\n" + `      - IMAGE_TAG=`, CheckBuildspecCommands, `quote the whole command: - 'echo "Tag: $IMAGE_TAG"'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := renderTo(t, tc.spec, testLive())
			p := filepath.Join(dir, filepath.FromSlash(tc.file))
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tc.from) {
				t.Fatalf("%s does not contain %q:\n%s", tc.file, tc.from, data)
			}
			os.WriteFile(p, []byte(strings.ReplaceAll(string(data), tc.from, tc.to)), 0o644)
			findings := diagnoseDir(t, dir, &tc.spec)
			var hit bool
			for _, f := range findings {
				if f.Check == tc.check && strings.Contains(f.Fix+f.Problem, tc.fix) {
					hit = true
				}
			}
			if !hit {
				t.Errorf("no %s finding mentioning %q; got %v", tc.check, tc.fix, findings)
			}
		})
	}
}

func TestDoctorPager(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	for _, tc := range []struct {
		name   string
		env    func(string) (string, bool)
		config string
		want   bool
	}{
		{"guide's pager", env("PAGER", "head -n 10000 | cat"), "", true},
		{"overridden", env("PAGER", "head -n 10000 | cat", "AWS_PAGER", ""), "", false},
		{"plain less", env("PAGER", "less"), "", false},
		{"aws pager pipe", env("AWS_PAGER", "less | cat"), "", true},
		{"config", env(), "[default]\ncli_pager = head | cat\n", true},
		{"config empty", env(), "[default]\ncli_pager =\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := checkPager(DoctorOptions{LookupEnv: tc.env, AWSConfig: tc.config})
			if (len(f) > 0) != tc.want {
				t.Errorf("findings %v, want some: %v", f, tc.want)
			}
			for _, x := range f {
				if !strings.Contains(x.Fix, "AWS_PAGER") && !strings.Contains(x.Fix, "cli_pager") {
					t.Errorf("fix %q says nothing to change", x.Fix)
				}
			}
		})
	}
}

// FuzzDiagnose feeds doctor arbitrary files: it must report, never panic.
func FuzzDiagnose(f *testing.F) {
	f.Add([]byte(`{"pipeline":{"stages":[{"actions":[{"actionTypeId":{"category":"Deploy","provider":"ECS"}}]}]}}`), []byte("version: 0.0\n"))
	f.Add([]byte(`{"pipeline":{"triggers":[{"gitConfiguration":{"push":[{"tags":{"includes":"v*"}}]}}]}}`), []byte(`{"version":0}`))
	f.Add([]byte(`[1,2]`), []byte("Resources: [x]"))
	f.Fuzz(func(t *testing.T, pipeline, appspec []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "pipeline-config.json"), pipeline, 0o644)
		os.WriteFile(filepath.Join(dir, "service-definition.json"), pipeline, 0o644)
		os.WriteFile(filepath.Join(dir, "deployment-group.json"), pipeline, 0o644)
		os.WriteFile(filepath.Join(dir, "taskdef.json"), pipeline, 0o644)
		os.WriteFile(filepath.Join(dir, "appspec.yaml"), appspec, 0o644)
		d, err := ReadDocuments(dir)
		if err != nil {
			t.Fatal(err)
		}
		Diagnose(d, DoctorOptions{})
	})
}

// TestDoctorOnTheGuidesDocumentsUnderOtherNames: the guide's documents,
// named as a team might name them (td.json, svc.json, deploy/dg.json,
// roles/pipeline-perms.json…), are recognised by their content, and each
// failure the guide's text holds is found, with its file, its line where
// the format has lines, and a fix.
func TestDoctorOnTheGuidesDocumentsUnderOtherNames(t *testing.T) {
	d, err := ReadDocuments("testdata/doctor/renamed")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, doc := range d.All {
		kinds[doc.Path] = doc.Kind
	}
	for path, kind := range map[string]string{
		"td.json": KindTaskDef, "svc.json": KindService, "deploy/dg.json": KindDeploymentGroup, "pipe.json": KindPipeline,
		"project.json": KindBuildProject, "deploy/spec.yml": KindAppSpec, "build.yml": KindBuildspec,
		"roles/pipeline-perms.json": KindPolicy, "roles/build-perms.json": KindPolicy, "roles/exec.json": KindPolicy,
		"roles/codedeploy.json": KindPolicy, "roles/pipeline-trust.json": KindTrustPolicy,
	} {
		if kinds[path] != kind {
			t.Errorf("%s recognised as %q, want %q", path, kinds[path], kind)
		}
	}
	if _, ok := kinds["README.md"]; ok {
		t.Error("README.md read as a document")
	}

	findings := Diagnose(d, DoctorOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	type want struct {
		check, file string
		line        int // 0: any
		says        string
	}
	for _, w := range []want{
		{CheckAppSpecPlaceholder, "deploy/spec.yml", 6, "<TASK_DEFINITION_ARN>, which nothing replaces"},
		{CheckPipelineTrigger, "pipe.json", 0, "V1"},
		{CheckPipelineTrigger, "pipe.json", 0, "no trigger on Git tags"},
		{CheckDeployAction, "pipe.json", 0, "plain CodeDeploy action"},
		{CheckLeastPrivilege, "roles/pipeline-perms.json", 0, "iam:PassRole without a condition"},
		{CheckLeastPrivilege, "roles/pipeline-perms.json", 0, "iam:PassRole on every role"},
		{CheckPlaceholder, "td.json", 1, "your-account-id is a placeholder"},
		{CheckPlaceholder, "svc.json", 1, "your-account-id is a placeholder, not a value: AWS rejects or misroutes the target group ARN"},
		{CheckPlaceholder, "pipe.json", 0, "your-connection-id"},
		{CheckBuildspecCommands, "build.yml", 10, "YAML_FILE_ERROR: Expected Commands[5] to be of string type: found subkeys instead at line 10"},
		{CheckBuildspecCommands, "build.yml", 11, "Expected Commands[6]"},
		{CheckDeploymentGroup, "deploy/dg.json", 0, "automatic rollback is off"},
		{CheckDeploymentGroup, "deploy/dg.json", 0, "no alarms stop the deployment"},
		{CheckCodeDeployRole, "roles/codedeploy.json", 0, "ecs:CreateTaskSet"},
	} {
		hit := false
		for _, f := range findings {
			if f.Check == w.check && f.File == w.file && (w.line == 0 || f.Line == w.line) && strings.Contains(f.Problem, w.says) && f.Fix != "" {
				hit = true
			}
		}
		if !hit {
			t.Errorf("no %s finding in %s:%d saying %q", w.check, w.file, w.line, w.says)
		}
	}
	for _, f := range findings {
		if f.Check == CheckBuildspecCommands && !strings.Contains(f.Fix, `'echo "`) {
			t.Errorf("buildspec fix %q does not quote the command", f.Fix)
		}
	}
	if t.Failed() {
		for _, f := range findings {
			t.Log(f)
		}
	}
}

// TestDoctorPlaceholders: what counts as a placeholder, and what does not.
func TestDoctorPlaceholders(t *testing.T) {
	for _, tc := range []struct {
		kind, line, account string
		want                string // "" for none
	}{
		{KindTaskDef, `"image": "your-account-id.dkr.ecr.us-west-2.amazonaws.com/app"`, "", "your-account-id"},
		{KindService, `"targetGroupArn": "arn:aws:elasticloadbalancing:us-west-2:<account>:targetgroup/x/1"`, "", "<account>"},
		{KindPipeline, `"roleArn": "arn:aws:iam::${ACCOUNT_ID}:role/p"`, "", "${ACCOUNT_ID}"},
		{KindPolicy, `"Resource": "arn:aws:s3:::b-ACCOUNT_ID/*"`, "", "ACCOUNT_ID"},
		{KindTaskDef, `"executionRoleArn": "arn:aws:iam::123456789012:role/x"`, "210987654321", SampleAccount},
		{KindTaskDef, `"executionRoleArn": "arn:aws:iam::123456789012:role/x"`, "", ""},
		{KindTaskDef, `"executionRoleArn": "arn:aws:iam::123456789012:role/x"`, SampleAccount, ""},
		{KindTaskDef, `"image": "<IMAGE1_NAME>"`, "", ""},
		{KindDeploymentGroup, `"listenerArns": ["<PRODUCTION_LISTENER_ARN>"]`, "", ""},
		{KindBuildspec, `      - docker push ${REPOSITORY_URI}:latest`, "", ""},
		{KindAppSpec, `        TaskDefinition: "<TASK_DEFINITION_ARN>"`, "", ""},
	} {
		got := checkPlaceholders(&Document{Path: "f", Kind: tc.kind, Data: []byte("{\n" + tc.line + "\n}")}, tc.account)
		switch {
		case tc.want == "" && len(got) > 0:
			t.Errorf("%s: found %v", tc.line, got)
		case tc.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0].Problem, tc.want+" is a placeholder") || got[0].Line != 2):
			t.Errorf("%s (account %q): %v, want one finding of %s on line 2", tc.line, tc.account, got, tc.want)
		}
	}
}

// TestReadDocumentsNothingToCheck: an empty folder, or one with no AWS
// document, reads nothing; files given by name are read wherever they are.
func TestReadDocumentsNothingToCheck(t *testing.T) {
	dir := t.TempDir()
	d, err := ReadDocuments(dir)
	if err != nil || len(d.All) != 0 || d.Read != 0 {
		t.Fatalf("empty folder: %+v %v", d, err)
	}
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name": "x", "version": "1.0.0"}`), 0o644)
	if d, err = ReadDocuments(dir); err != nil || len(d.All) != 0 || d.Read != 1 {
		t.Fatalf("a package.json only: %+v %v", d, err)
	}
	if d, err = ReadDocuments("", "testdata/doctor/renamed/td.json"); err != nil || len(d.All) != 1 || d.TaskDefPath != "testdata/doctor/renamed/td.json" {
		t.Fatalf("one file by name: %+v %v", d, err)
	}
}

func FuzzRecognise(f *testing.F) {
	f.Add("a.json", []byte(`{"containerDefinitions": []}`))
	f.Add("b.yml", []byte("version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"A: b\"\n"))
	f.Add("c.json", []byte(`{"Statement": [{"Principal": {"Service": "x"}}]}`))
	f.Add("d.yaml", []byte("version: 0.0\nResources:\n  - TargetService: {}\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		doc, problem := recognise(name, data)
		if doc != nil && (doc.Kind == "" || problem != nil) {
			t.Fatalf("document %+v with problem %v", doc, problem)
		}
		if doc != nil {
			checkPlaceholders(doc, "210987654321")
		}
	})
}

// TestDoctorByContentAcrossDocuments: a policy granting ECS task sets is
// the CodeDeploy role's whatever its name, and the container the
// buildspec's imagedefinitions.json names must be the task definition's.
func TestDoctorByContentAcrossDocuments(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"p3.json": `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ecs:CreateTaskSet"], "Resource": "*"}]}`,
		"t.json":  `{"family": "app", "containerDefinitions": [{"name": "app", "image": "x"}]}`,
		"ci/b.yml": "version: 0.2\nphases:\n  post_build:\n    commands:\n" +
			`      - printf '[{"name":"web","imageUri":"%s"}]' $REPOSITORY_URI:$IMAGE_TAG > imagedefinitions.json` + "\n",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := ReadDocuments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.CodeDeployPolicyPath != "p3.json" || d.BuildspecPath != "ci/b.yml" || d.TaskDefPath != "t.json" {
		t.Errorf("recognised: codedeploy %q buildspec %q taskdef %q", d.CodeDeployPolicyPath, d.BuildspecPath, d.TaskDefPath)
	}
	found := false
	for _, f := range Diagnose(d, DoctorOptions{}) {
		if f.Check == CheckNamesMatch && f.File == "ci/b.yml" && f.Line == 5 && strings.Contains(f.Problem, `imagedefinitions.json names container "web", which t.json does not define`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no finding for the image definition's container")
	}
}
