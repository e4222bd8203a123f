package pipeline

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestExecutionJSONKeys: every key is camelCase, and an execution stored
// with the older "deployment_id" reads back with its deployment.
func TestExecutionJSONKeys(t *testing.T) {
	data, err := json.Marshal(Execution{ID: "e-000001", DeploymentID: "d-000001"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"deploymentId":"d-000001"`) || strings.Contains(string(data), "_") {
		t.Errorf("keys: %s", data)
	}
	var e Execution
	if err := json.Unmarshal([]byte(`{"id":"e-000002","deployment_id":"d-000007"}`), &e); err != nil || e.DeploymentID != "d-000007" || e.ID != "e-000002" {
		t.Errorf("stored form: %+v, %v", e, err)
	}
}
