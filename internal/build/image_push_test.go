package build

import "testing"

// The registry token goes with a push to a loopback registry only (the
// embedded one); a target off the machine is refused before anything is
// sent.
func TestTargetTokenOnlyForLoopbackRegistry(t *testing.T) {
	for _, tc := range []struct {
		target Target
		ok     bool
	}{
		{Target{Registry: "127.0.0.1:5055", Repository: "app", Token: "tok"}, true},
		{Target{Registry: "localhost:5055", Repository: "app", Token: "tok"}, true},
		{Target{Registry: "evil.example:5000", Repository: "app"}, true},
		{Target{Registry: "evil.example:5000", Repository: "app", Token: "tok"}, false},
		{Target{Registry: "10.0.0.5:5000", Repository: "app", Token: "tok"}, false},
	} {
		if err := tc.target.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tc.target, err, tc.ok)
		}
	}
}
