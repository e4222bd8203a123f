package flow

import (
	"os"
	"path/filepath"
	"testing"
)

func TestVersionFileRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"package.json", "{\n  \"name\": \"svc\",\n  \"version\": \"1.0.0\",\n  \"deps\": {\"version\": \"9.9.9\"}\n}\n",
			"{\n  \"name\": \"svc\",\n  \"version\": \"2.0.0\",\n  \"deps\": {\"version\": \"9.9.9\"}\n}\n"},
		{"package.json", "{\"deps\":{\"version\":\"9\"},\"list\":[{\"version\":\"8\"}],\"version\" : \"1.0.0\"}",
			"{\"deps\":{\"version\":\"9\"},\"list\":[{\"version\":\"8\"}],\"version\" : \"2.0.0\"}"},
		{"package.json", "{\"version\":\"0.0.0\",\"n\":1,\"b\":true,\"z\":null}", "{\"version\":\"2.0.0\",\"n\":1,\"b\":true,\"z\":null}"},
		{"VERSION", "1.0.0\n", "2.0.0\n"},
		{"VERSION", "  1.0.0  ", "2.0.0\n"},
	} {
		path := filepath.Join(t.TempDir(), tc.name)
		if err := os.WriteFile(path, []byte(tc.in), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := writeVersionFile(path, "2.0.0"); err != nil {
			t.Fatalf("write %s: %v", tc.in, err)
		}
		got, _ := os.ReadFile(path)
		if string(got) != tc.want {
			t.Errorf("write into %q:\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if v, err := readVersionFile(path); err != nil || v != "2.0.0" {
			t.Errorf("read back = %q, %v", v, err)
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
			t.Errorf("mode changed to %v", st.Mode().Perm())
		}
	}
}

func TestVersionFileMalformed(t *testing.T) {
	for _, in := range []string{
		"{", "[]", "{}", "{\"name\":\"x\"}", "{\"version\": 3}", "{\"a\":{\"version\":\"1.0.0\"}}", "not json",
	} {
		path := filepath.Join(t.TempDir(), "package.json")
		os.WriteFile(path, []byte(in), 0o644)
		if _, err := readVersionFile(path); err == nil {
			t.Errorf("read %q: no error", in)
		}
		if err := writeVersionFile(path, "1.0.0"); err == nil {
			t.Errorf("write %q: no error", in)
		}
		if got, _ := os.ReadFile(path); string(got) != in {
			t.Errorf("a failed write changed %q to %q", in, got)
		}
	}
}

func FuzzJSONVersionSpan(f *testing.F) {
	f.Add([]byte(`{"version":"1.0.0"}`))
	f.Add([]byte(`{"a":[1,{"version":"x"}],"version":"2"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		start, end, err := jsonVersionSpan(data)
		if err != nil {
			return
		}
		if start < 0 || end > len(data) || start >= end || data[start] != '"' || data[end-1] != '"' {
			t.Fatalf("span [%d,%d) of %q is not a string", start, end, data)
		}
	})
}
