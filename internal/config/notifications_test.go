package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestNotificationsDefaultsAndErrors(t *testing.T) {
	c, err := Parse("canaryflow.yaml", []byte(`notifications:
  - url: https://hooks.example.com/services/T0/B0/secretpath
    format: slack
    events: [deployment.rolled_back]
  - url: http://127.0.0.1:9000/hook
`))
	if err != nil {
		t.Fatal(err)
	}
	s, j := c.Notifications[0], c.Notifications[1]
	if s.Format != FormatSlack || !s.Wants("deployment.rolled_back") || s.Wants("pipeline.started") || s.SecretEnv != "" {
		t.Errorf("slack target: %+v", s)
	}
	if j.Format != FormatJSON || len(j.Events) != len(NotificationEvents) || j.SecretEnv != DefaultNotifySecretEnv {
		t.Errorf("json target with defaults: %+v", j)
	}

	_, err = Parse("canaryflow.yaml", []byte(`notifications:
  - url: http://hooks.example.com/services/T0/B0/secretpath
    format: xml
    events: [deployment.finished]
    secret_env: "not a name"
  - url: ftp://x
`))
	if err == nil {
		t.Fatal("bad notifications accepted")
	}
	for _, want := range []string{
		"canaryflow.yaml:2:", "notifications[0].url", "plain http only to this machine",
		"canaryflow.yaml:3:", `"xml": want json or slack`,
		"canaryflow.yaml:4:", `"deployment.finished": want one of`,
		"notifications[0].secret_env", "notifications[1].url",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "secretpath") {
		t.Errorf("the error shows the webhook's secret path: %v", err)
	}
}

func TestNotificationChangesHideTheURL(t *testing.T) {
	a, err := Parse("a.yaml", []byte("notifications:\n  - url: https://hooks.example.com/services/T0/B0/old-secret\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("b.yaml", []byte("notifications:\n  - url: https://hooks.example.com/services/T0/B0/new-secret\n"))
	if err != nil {
		t.Fatal(err)
	}
	cs := Changes(a, b)
	if len(cs) != 1 || cs[0].Key != "notifications" || cs[0].Live {
		t.Fatalf("changes %+v: want one change of notifications, applied at restart", cs)
	}
	if s := fmt.Sprint(cs[0]); strings.Contains(s, "secret") {
		t.Errorf("the change shows the URL's secret path: %s", s)
	}
}
