package router

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"http://127.0.0.1:9001", "http://127.0.0.1:9001"},
		{"http://127.0.0.1:9001/", "http://127.0.0.1:9001"},
		{" http://localhost:80 ", "http://localhost:80"},
		{"http://[::1]:9001", "http://[::1]:9001"},
		{"127.0.0.1:9001", ""},
		{"https://127.0.0.1:9001", ""},
		{"http://127.0.0.1", ""},
		{"http://127.0.0.1:", ""},
		{"http://:9001", ""},
		{"http://127.0.0.1:99999", ""},
		{"http://127.0.0.1:0", ""},
		{"http://127.0.0.1:http", ""},
		{"http://127.0.0.1:9001/app", ""},
		{"http://127.0.0.1:9001?x=1", ""},
		{"http://u:p@127.0.0.1:9001", ""},
		{"http://127.0.0.1:9001#f", ""},
		{"", ""},
		{"http://%zz", ""},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if tt.want == "" {
			if err == nil || !errors.Is(err, ErrInvalidTarget) {
				t.Errorf("ParseTarget(%q) = %q, %v; want ErrInvalidTarget", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseTarget(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseTargetList(t *testing.T) {
	got, err := ParseTargetList("http://127.0.0.1:9001,http://127.0.0.1:9003")
	if err != nil || len(got) != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", ",", "http://127.0.0.1:9001,", "http://127.0.0.1:9001,http://127.0.0.1:9001/", "x"} {
		if _, err := ParseTargetList(bad); err == nil {
			t.Errorf("ParseTargetList(%q): want error", bad)
		}
	}
}

func FuzzParseTargetList(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:9001", "http://a:1,http://b:2", "http://[::1]:80", ",", "http://x:1/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list, err := ParseTargetList(s)
		if err != nil {
			return
		}
		for _, k := range list {
			again, err := ParseTarget(k)
			if err != nil || again != k {
				t.Fatalf("canonical %q does not parse to itself: %q, %v", k, again, err)
			}
			if !strings.HasPrefix(k, "http://") {
				t.Fatalf("canonical %q lacks http://", k)
			}
		}
	})
}
