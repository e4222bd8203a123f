package aws

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sharedMoto is the one moto_server of this test package: started by the
// first test that needs it, on a free loopback port, stopped by TestMain.
// Tests keep apart by using different service names or regions.
type sharedMoto struct {
	once sync.Once
	cmd  *exec.Cmd
	url  string
	err  error
	logs bytes.Buffer
}

var moto sharedMoto

func TestMain(m *testing.M) {
	code := m.Run()
	if moto.cmd != nil {
		moto.cmd.Process.Kill()
		moto.cmd.Wait()
	}
	os.Exit(code)
}

// startMoto returns the URL of the package's moto_server, starting it on
// first use.
func startMoto(t *testing.T) string {
	t.Helper()
	moto.once.Do(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			moto.err = err
			return
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cmd := exec.Command("moto_server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		cmd.Stdout, cmd.Stderr = &moto.logs, &moto.logs
		if err := cmd.Start(); err != nil {
			moto.err = fmt.Errorf("start moto_server (pip install 'moto[server]'): %w", err)
			return
		}
		moto.cmd = cmd
		u := fmt.Sprintf("http://127.0.0.1:%d", port)
		deadline := time.Now().Add(60 * time.Second)
		for {
			resp, err := http.Get(u + "/moto-api/")
			if err == nil {
				resp.Body.Close()
				moto.url = u
				return
			}
			if time.Now().After(deadline) {
				moto.err = fmt.Errorf("moto_server did not answer within 60s: %w", err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if moto.err != nil {
		t.Fatalf("%v\n%s", moto.err, moto.logs.String())
	}
	return moto.url
}

// modelCall is a request the proxy answered itself after checking it
// against the service model, because moto does not implement it.
type modelCall struct {
	Operation string
	Body      map[string]any
}

// motoProxy forwards to moto, except for the operations moto 5.2.1 lacks:
// those requests are validated against botocore's service model (the same
// model the AWS CLI validates with) and answered with an empty success.
type motoProxy struct {
	mu     sync.Mutex
	calls  []modelCall
	models map[string]*serviceModel // by X-Amz-Target prefix
	alarms map[string]any           // alarmShim: alarmConfiguration by app/group
	script map[string][]string      // scripted answers by operation, used in order
	// conns answers CodeStar Connections, which moto lacks.
	conns *connectionsAPI
}

// scripted pops the next scripted answer for op ("" when none); the last
// answer repeats.
func (mp *motoProxy) scripted(op string) string {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	l := mp.script[op]
	if len(l) == 0 {
		return ""
	}
	if len(l) > 1 {
		mp.script[op] = l[1:]
	}
	return l[0]
}

// unimplemented are the operations moto 5.2.1 does not have, by target.
var unimplemented = map[string]map[string]string{
	"CodeDeploy_20141006": {
		"DeleteApplication": "{}", "DeleteDeploymentGroup": "{}", "UpdateDeploymentGroup": "{}",
		"StopDeployment": `{"status":"Pending"}`, "ContinueDeployment": "{}", "DeleteDeploymentConfig": "{}",
		"ListDeploymentTargets": `{"targetIds":[]}`, "BatchGetDeploymentTargets": `{"deploymentTargets":[]}`,
	},
	"CodeBuild_20161006": {"UpdateProject": `{}`},
	"AmazonEC2ContainerServiceV20141113": {
		"ListServiceDeployments": `{"serviceDeployments":[]}`, "DescribeServiceDeployments": `{"serviceDeployments":[]}`,
		"DescribeServiceRevisions": `{"serviceRevisions":[]}`, "StopServiceDeployment": `{}`, "ContinueServiceDeployment": `{}`,
	},
}

func newMotoProxy(t *testing.T, motoURL string) (*httptest.Server, *motoProxy) {
	t.Helper()
	target, _ := url.Parse(motoURL)
	mp := &motoProxy{models: map[string]*serviceModel{
		"CodeDeploy_20141006":                loadModel(t, "codedeploy/2014-10-06"),
		"CodeBuild_20161006":                 loadModel(t, "codebuild/2016-10-06"),
		"AmazonEC2ContainerServiceV20141113": loadModel(t, "ecs/2014-11-13"),
	}, conns: newConnectionsAPI(t)}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cborBridge(rp, w, r) {
			return
		}
		prefix, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		if prefix == connectionsTarget {
			mp.conns.ServeHTTP(w, r)
			return
		}
		if prefix == "CodeBuild_20161006" && (op == "CreateProject" || op == "UpdateProject") && codeBuildLocations(t, mp, w, r, op) {
			return
		}
		resp, ok := unimplemented[prefix][op]
		next := mp.scripted(op)
		if next != "" && !ok { // a scripted answer in place of moto's
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			io.WriteString(w, next)
			return
		}
		if !ok && (prefix == "CodePipeline_20150709" || prefix == "CodeDeploy_20141006") {
			epochTimestamps(rp, w, r, mp.alarmShim(op, r))
			return
		}
		if !ok {
			rp.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if err := mp.models[prefix].validate(op, m); err != nil {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"__type":"ValidationException","message":%q}`, err.Error())
			return
		}
		mp.mu.Lock()
		mp.calls = append(mp.calls, modelCall{Operation: op, Body: m})
		mp.mu.Unlock()
		if next != "" {
			resp = next
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, resp)
	}))
	t.Cleanup(srv.Close)
	return srv, mp
}

// codeBuildLocations works around moto 5.2.1 requiring a location for a
// CODEPIPELINE source and artifacts, which AWS does not (the pipeline
// supplies both): the request is checked against CodeBuild's model as the
// SDK sent it, then forwarded with placeholder locations added.
func codeBuildLocations(t *testing.T, mp *motoProxy, w http.ResponseWriter, r *http.Request, op string) bool {
	body, _ := io.ReadAll(r.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Errorf("CodeBuild %s: %v", op, err)
		return false
	}
	if err := mp.models["CodeBuild_20161006"].validate(op, m); err != nil {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":"InvalidInputException","message":%q}`, err.Error())
		return true
	}
	if op == "UpdateProject" {
		mp.mu.Lock()
		mp.calls = append(mp.calls, modelCall{Operation: op, Body: m})
		mp.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, "{}")
		return true
	}
	for _, k := range []string{"source", "artifacts"} {
		if sub, ok := m[k].(map[string]any); ok && sub["type"] == "CODEPIPELINE" && sub["location"] == nil {
			sub["location"] = "supplied-by-codepipeline"
		}
	}
	fixed, _ := json.Marshal(m)
	r.Body = io.NopCloser(bytes.NewReader(fixed))
	r.ContentLength = int64(len(fixed))
	return false
}

var isoTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$`)

// epochTimestamps works around moto 5.2.1 writing CodePipeline and
// CodeDeploy timestamps as ISO strings where the AWS JSON protocol (and so
// the SDK) wants epoch seconds: such strings in the answer become numbers.
func epochTimestamps(forward http.Handler, w http.ResponseWriter, r *http.Request, patch func(any)) {
	rec := &recorder{header: http.Header{}, code: 200}
	forward.ServeHTTP(rec, r)
	var tree any
	dec := json.NewDecoder(bytes.NewReader(rec.body.Bytes()))
	dec.UseNumber()
	body := rec.body.Bytes()
	if dec.Decode(&tree) == nil {
		var walk func(v any) any
		walk = func(v any) any {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					x[k] = walk(e)
				}
			case []any:
				for i, e := range x {
					x[i] = walk(e)
				}
			case string:
				if isoTime.MatchString(x) {
					for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999-07:00", "2006-01-02 15:04:05.999999-07:00"} {
						if t, err := time.Parse(layout, x); err == nil {
							return json.Number(strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', -1, 64))
						}
					}
				}
			}
			return v
		}
		tree = walk(tree)
		if patch != nil {
			patch(tree)
		}
		body, _ = json.Marshal(tree)
	}
	for k, v := range rec.header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(rec.code)
	w.Write(body)
}

// alarmShim works around moto 5.2.1 answering every deployment group with
// "alarmConfiguration": {} (a TODO in moto): it remembers the
// alarmConfiguration each CreateDeploymentGroup sent and puts it back into
// GetDeploymentGroup answers for that group.
func (mp *motoProxy) alarmShim(op string, r *http.Request) func(any) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var m map[string]any
	json.Unmarshal(body, &m)
	key := fmt.Sprint(m["applicationName"], "/", m["deploymentGroupName"])
	switch op {
	case "CreateDeploymentGroup":
		mp.mu.Lock()
		if mp.alarms == nil {
			mp.alarms = map[string]any{}
		}
		mp.alarms[key] = m["alarmConfiguration"]
		mp.mu.Unlock()
	case "GetDeploymentGroup":
		return func(tree any) {
			mp.mu.Lock()
			defer mp.mu.Unlock()
			if info, ok := tree.(map[string]any)["deploymentGroupInfo"].(map[string]any); ok && mp.alarms[key] != nil {
				info["alarmConfiguration"] = mp.alarms[key]
			}
		}
	}
	return nil
}

func (mp *motoProxy) called(op string) []modelCall {
	mp.mu.Lock()
	defer mp.mu.Unlock()
	var out []modelCall
	for _, c := range mp.calls {
		if c.Operation == op {
			out = append(out, c)
		}
	}
	return out
}

// serviceModel is the part of a botocore service-2.json needed to check a
// request: operations' input shapes and the shapes' members.
type serviceModel struct {
	Operations map[string]struct {
		Input struct {
			Shape string `json:"shape"`
		} `json:"input"`
	} `json:"operations"`
	Shapes map[string]struct {
		Type     string   `json:"type"`
		Required []string `json:"required"`
		Members  map[string]struct {
			Shape string `json:"shape"`
		} `json:"members"`
		Member struct {
			Shape string `json:"shape"`
		} `json:"member"`
		Value struct {
			Shape string `json:"shape"`
		} `json:"value"`
		Enum []string `json:"enum"`
	} `json:"shapes"`
}

// models caches the service models by path: each test's proxy uses the
// same ones, and reading them asks Python where botocore lives.
var models struct {
	sync.Mutex
	botocore string
	byPath   map[string]*serviceModel
}

func loadModel(t *testing.T, rel string) *serviceModel {
	t.Helper()
	models.Lock()
	defer models.Unlock()
	if m := models.byPath[rel]; m != nil {
		return m
	}
	if models.botocore == "" {
		out, err := exec.Command(awsCLIPython(t), "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))").Output()
		if err != nil {
			t.Fatal(err)
		}
		models.botocore = strings.TrimSpace(string(out))
	}
	f, err := os.Open(filepath.Join(models.botocore, "data", rel, "service-2.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var m serviceModel
	if err := json.NewDecoder(zr).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if models.byPath == nil {
		models.byPath = map[string]*serviceModel{}
	}
	models.byPath[rel] = &m
	return &m
}

// validate checks body against op's input shape: required members,
// unknown members, types and enums.
func (m *serviceModel) validate(op string, body map[string]any) error {
	o, ok := m.Operations[op]
	if !ok {
		return fmt.Errorf("no operation %s in the model", op)
	}
	return m.check(o.Input.Shape, body, op)
}

func (m *serviceModel) check(shape string, v any, path string) error {
	s := m.Shapes[shape]
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object", path)
		}
		for _, r := range s.Required {
			if _, ok := obj[r]; !ok {
				return fmt.Errorf("%s: missing required %s", path, r)
			}
		}
		for k, val := range obj {
			mem, ok := s.Members[k]
			if !ok {
				return fmt.Errorf("%s: unknown member %s", path, k)
			}
			if err := m.check(mem.Shape, val, path+"."+k); err != nil {
				return err
			}
		}
	case "list":
		l, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want a list", path)
		}
		for i, e := range l {
			if err := m.check(s.Member.Shape, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case "map":
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("%s: want a map", path)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string", path)
		}
		if len(s.Enum) > 0 && !containsString(s.Enum, str) {
			return fmt.Errorf("%s: %q is not one of %v", path, str, s.Enum)
		}
	case "integer", "long", "double", "float":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s: want a number", path)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean", path)
		}
	}
	return nil
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// motoClients points aws-sdk-go-v2 at moto (through the proxy) with
// AWS_ENDPOINT_URL, as a user would.
func motoClients(t *testing.T, endpoint string) *Clients {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_REGION", "us-west-2")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	c, err := NewClients(context.Background(), ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
