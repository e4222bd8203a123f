package awsfmt

import (
	"slices"
	"testing"
	"time"
)

func TestPredefinedDeploymentConfigs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []int
		every time.Duration
	}{
		{"CodeDeployDefault.ECSCanary10Percent5Minutes", []int{10, 100}, 5 * time.Minute},
		{"CodeDeployDefault.ECSCanary10Percent15Minutes", []int{10, 100}, 15 * time.Minute},
		{"CodeDeployDefault.ECSLinear10PercentEvery1Minutes", []int{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, time.Minute},
		{"CodeDeployDefault.ECSLinear10PercentEvery3Minutes", []int{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 3 * time.Minute},
		{"CodeDeployDefault.ECSAllAtOnce", []int{100}, 0},
	} {
		r, ok := PredefinedDeploymentConfig(tc.name)
		if !ok {
			t.Fatalf("%s not found", tc.name)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !slices.Equal(r.Steps(), tc.steps) || r.Interval != tc.every {
			t.Errorf("%s: steps %v every %s", tc.name, r.Steps(), r.Interval)
		}
	}
	if len(PredefinedDeploymentConfigNames()) != 5 {
		t.Errorf("names = %v", PredefinedDeploymentConfigNames())
	}
	if _, ok := PredefinedDeploymentConfig("CodeDeployDefault.OneAtATime"); ok {
		t.Error("an EC2 config is not an ECS config")
	}
}

func TestTrafficRoutingValidate(t *testing.T) {
	good := []TrafficRouting{
		{TimeBasedCanary, 25, 30 * time.Second},
		{TimeBasedLinear, 33, time.Second},
		{Type: AllAtOnce},
	}
	for _, r := range good {
		if err := r.Validate(); err != nil {
			t.Errorf("%v: %v", r, err)
		}
	}
	if got := (TrafficRouting{TimeBasedLinear, 33, time.Second}).Steps(); !slices.Equal(got, []int{33, 66, 99, 100}) {
		t.Errorf("linear 33 steps = %v", got)
	}
	bad := []TrafficRouting{
		{}, {"Canary", 10, time.Second}, {TimeBasedCanary, 0, time.Second}, {TimeBasedCanary, 100, time.Second},
		{TimeBasedLinear, 10, 0}, {TimeBasedLinear, 10, 1500 * time.Millisecond}, {AllAtOnce, 10, 0},
	}
	for _, r := range bad {
		if err := r.Validate(); err == nil {
			t.Errorf("%v: no error", r)
		}
	}
}
