package durjson

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRoundTripAndOldNumbers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{`"5m0s"`, 5 * time.Minute},
		{`"250ms"`, 250 * time.Millisecond},
		{`300000000000`, 5 * time.Minute}, // nanoseconds, as stored before
		{`null`, 0},
	} {
		var d Duration
		if err := json.Unmarshal([]byte(tc.in), &d); err != nil || time.Duration(d) != tc.want {
			t.Errorf("%s = %v, %v; want %v", tc.in, time.Duration(d), err, tc.want)
		}
	}
	out, _ := json.Marshal(Duration(90 * time.Second))
	if string(out) != `"1m30s"` {
		t.Errorf("marshal = %s", out)
	}
	for _, bad := range []string{`"5 minutes"`, `true`, `{}`} {
		var d Duration
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`"5m0s"`, `1`, `null`, `"-3h"`, `""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Duration
		if err := json.Unmarshal(data, &d); err != nil {
			return
		}
		// What reads back must write and read back to the same span.
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var again Duration
		if err := json.Unmarshal(out, &again); err != nil || again != d {
			t.Fatalf("%s → %s → %v (%v)", data, out, time.Duration(again), err)
		}
	})
}

type sample struct {
	Name string        `json:"name"`
	Wait time.Duration `json:"wait"`
}

func (s sample) MarshalJSON() ([]byte, error) {
	type plain sample
	return Marshal(plain(s), map[string]time.Duration{"wait": s.Wait})
}

func (s *sample) UnmarshalJSON(data []byte) error {
	type plain sample
	return Unmarshal(data, (*plain)(s), map[string]*time.Duration{"wait": &s.Wait})
}

func TestMarshalUnmarshalStruct(t *testing.T) {
	out, err := json.Marshal(sample{Name: "x", Wait: 5 * time.Minute})
	if err != nil || string(out) != `{"name":"x","wait":"5m0s","waitSeconds":300}` {
		t.Fatalf("marshal = %s, %v", out, err)
	}
	for _, in := range []string{string(out), `{"name":"x","wait":300000000000}`, `{"Name":"x","Wait":"5m"}`} {
		var s sample
		if err := json.Unmarshal([]byte(in), &s); err != nil || s != (sample{Name: "x", Wait: 5 * time.Minute}) {
			t.Errorf("%s = %+v, %v", in, s, err)
		}
	}
	var s sample
	if err := json.Unmarshal([]byte(`{"wait":"soon"}`), &s); err == nil {
		t.Error("a bad duration was accepted")
	}
}

func FuzzUnmarshalStruct(f *testing.F) {
	for _, s := range []string{`{"name":"x","wait":"5m0s","waitSeconds":300}`, `{"wait":1}`, `{}`, `[]`, `{"WAIT":"1s","wait":"2s"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s sample
		if err := json.Unmarshal(data, &s); err != nil {
			return
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var again sample
		if err := json.Unmarshal(out, &again); err != nil || again != s {
			t.Fatalf("%s → %s → %+v (%v)", data, out, again, err)
		}
	})
}
