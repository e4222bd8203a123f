package proxycmd

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseInheritFDs(t *testing.T) {
	got, err := parseInheritFDs("listen=3,test=4,admin=5")
	if err != nil || got["listen"] != 3 || got["test"] != 4 || got["admin"] != 5 {
		t.Fatalf("parseInheritFDs: %v %v", got, err)
	}
	for _, bad := range []string{"listen", "listen=", "listen=2", "listen=x", "other=3", "listen=3,listen=4", "listen=3,", ",", "listen=-3"} {
		if _, err := parseInheritFDs(bad); err == nil {
			t.Errorf("parseInheritFDs(%q) accepted", bad)
		}
	}
}

// FuzzParseInheritFDs: whatever it accepts names known sockets, each once,
// on descriptors past the standard three.
func FuzzParseInheritFDs(f *testing.F) {
	for _, s := range []string{"listen=3,test=4,admin=5", "listen=3", "", "x=1", "listen=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseInheritFDs(s)
		if err != nil {
			return
		}
		if s != "" && len(got) != strings.Count(s, ",")+1 {
			t.Fatalf("%q gave %v", s, got)
		}
		for name, fd := range got {
			if fd < 3 || (name != "listen" && name != "test" && name != "admin") {
				t.Fatalf("%q gave %v", s, got)
			}
		}
	})
}

// TestFenceAfterHandover: once a router has handed over, a change sent
// to it on a connection still open is refused, not lost; reads still
// answer.
func TestFenceAfterHandover(t *testing.T) {
	h := &handover{}
	changed := 0
	api := h.fence(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			changed++
		}
	}))
	do := func(method string) int {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest(method, "/routing", strings.NewReader("{}")))
		return rec.Code
	}
	if do(http.MethodPut) != http.StatusOK || changed != 1 {
		t.Fatalf("before the handover a change was refused")
	}
	h.done.Store(true)
	if code := do(http.MethodPut); code != http.StatusServiceUnavailable || changed != 1 {
		t.Errorf("after the handover: %d, %d changes; want 503 and none applied", code, changed)
	}
	if code := do(http.MethodGet); code != http.StatusOK {
		t.Errorf("a read after the handover: %d", code)
	}
}
