package proxycmd

import (
	"strings"
	"testing"
	"time"
)

// TestGreenWeightWithoutGreenWarns: a green weight with no green targets is
// allowed (targets may come through the admin API) but said aloud, since
// that share then goes to blue.
func TestGreenWeightWithoutGreenWarns(t *testing.T) {
	base := proxyFlags{listen: "127.0.0.1:0", blue: "http://127.0.0.1:9001", deregistrationDelay: time.Second,
		healthInterval: time.Second, healthTimeout: time.Second, healthyThreshold: 1, unhealthyThreshold: 1}
	for _, tc := range []struct {
		green, weight string
		warn          bool
	}{
		{"", "50", true},
		{"", "0", false},
		{"http://127.0.0.1:9002", "50", false},
	} {
		f := base
		f.green, f.greenWeight = tc.green, tc.weight
		var log strings.Builder
		if _, err := f.options(&log); err != nil {
			t.Fatalf("green %q weight %s: %v", tc.green, tc.weight, err)
		}
		if got := strings.Contains(log.String(), "warning: --green-weight "+tc.weight+" but no --green targets"); got != tc.warn {
			t.Errorf("green %q weight %s: warned %v, want %v: %q", tc.green, tc.weight, got, tc.warn, log.String())
		}
	}
}
