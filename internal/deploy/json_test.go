package deploy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

// TestSettingsJSON checks the one JSON style (camelCase keys, durations as
// "5m0s" with …Seconds, lists as []) and that a deployment stored before it
// (Type/Percent keys, nanosecond durations) reads back the same.
func TestSettingsJSON(t *testing.T) {
	s := Settings{
		DesiredCount: 2,
		Strategy:     awsfmt.TrafficRouting{Type: awsfmt.TimeBasedCanary, Percent: 10, Interval: 5 * time.Minute},
		ReadyAction:  "CONTINUE_DEPLOYMENT", ReadyWait: time.Hour, TerminationWait: 5 * time.Minute,
		Alarms:         AlarmPolicy{Period: 10 * time.Second, EvaluationPeriods: 3, P99Latency: 500 * time.Millisecond},
		Hooks:          map[string]Hook{"AfterAllowTestTraffic": {Name: "SmokeTest", Command: []string{"true"}, Timeout: 30 * time.Second}},
		InstallTimeout: 5 * time.Minute, StopGrace: 10 * time.Second,
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, want := range []string{`"strategy":{"interval":"5m0s","intervalSeconds":300,"percent":10,"type":"TimeBasedCanary"}`,
		`"readyWait":"1h0m0s"`, `"readyWaitSeconds":3600`, `"terminationWait":"5m0s"`, `"period":"10s"`, `"periodSeconds":10`,
		`"p99Latency":"500ms"`, `"timeout":"30s"`, `"timeoutSeconds":30`, `"autoRollback":[]`} {
		if !strings.Contains(doc, want) {
			t.Errorf("JSON lacks %s:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, `"Type"`) || strings.Contains(doc, `"Percent"`) {
		t.Errorf("JSON has Go field names:\n%s", doc)
	}
	var back Settings
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	s.AutoRollback = back.AutoRollback // [] written for nil
	if !reflect.DeepEqual(back, s) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, s)
	}

	old := `{"desiredCount":2,"strategy":{"Type":"TimeBasedCanary","Percent":10,"Interval":300000000000},
		"readyAction":"CONTINUE_DEPLOYMENT","readyWait":3600000000000,"terminationWait":300000000000,
		"alarms":{"period":10000000000,"evaluationPeriods":3,"p99Latency":500000000},
		"hooks":{"AfterAllowTestTraffic":{"name":"SmokeTest","command":["true"],"timeout":30000000000}},
		"autoRollback":[],"installTimeout":300000000000,"stopGrace":10000000000}`
	var stored Settings
	if err := json.Unmarshal([]byte(old), &stored); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stored, s) {
		t.Errorf("a stored deployment reads back differently:\n got %+v\nwant %+v", stored, s)
	}
}
