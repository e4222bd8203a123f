package fileerr

import "testing"

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  Error
		want string
	}{
		{"all", Error{Path: "canaryflow.yaml", Line: 3, Field: "release.tag_prefix", Msg: "must not be empty"},
			"canaryflow.yaml:3: release.tag_prefix: must not be empty"},
		{"no line", Error{Path: "appspec.yaml", Field: "Resources", Msg: "is required"},
			"appspec.yaml: Resources: is required"},
		{"no field", Error{Path: "taskdef.json", Line: 1, Msg: "malformed JSON"},
			"taskdef.json:1: malformed JSON"},
		{"path only", Error{Path: "x", Msg: "m"}, "x: m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if got := tt.err.ExitCode(); got != 2 {
				t.Errorf("ExitCode() = %d, want 2", got)
			}
		})
	}
}
