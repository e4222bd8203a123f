package registry

import (
	"errors"
	"strconv"
	"testing"
)

func TestParseContentRange(t *testing.T) {
	for _, tc := range []struct {
		in         string
		start, end int64
		ok         bool
	}{
		{"0-0", 0, 0, true},
		{"0-1023", 0, 1023, true},
		{"1024-2047", 1024, 2047, true},
		{"999999999999999998-999999999999999999", 999999999999999998, 999999999999999999, true},
		{"5-0", 0, 0, false},  // N-0: ends before it starts
		{"10-9", 0, 0, false}, // end < start
		{"", 0, 0, false},     // nothing
		{"-5", 0, 0, false},   // no start
		{"5-", 0, 0, false},   // no end
		{"a-b", 0, 0, false},  // not numbers
		{"+1-2", 0, 0, false}, // sign
		{"1--2", 0, 0, false}, // negative end
		{" 1-2", 0, 0, false}, // space
		{"bytes 0-1", 0, 0, false},
		{"0-1/2", 0, 0, false},
		{"0-9223372036854775807", 0, 0, false}, // overflow guard: too many digits
		{"0-99999999999999999999999", 0, 0, false},
	} {
		got, err := parseContentRange(tc.in)
		if tc.ok != (err == nil) {
			t.Errorf("parseContentRange(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if err != nil && !errors.Is(err, ErrBadRange) {
			t.Errorf("parseContentRange(%q) error %v is not ErrBadRange", tc.in, err)
		}
		if tc.ok && (got.Start != tc.start || got.End != tc.end) {
			t.Errorf("parseContentRange(%q) = %+v, want %d-%d", tc.in, got, tc.start, tc.end)
		}
	}
}

// FuzzParseContentRange checks that an accepted range is well formed, has a
// positive length that cannot overflow, and prints back as it was read.
func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"0-0", "0-1023", "5-0", "10-9", "-1-2", "1-", "9223372036854775807-9223372036854775807", "00-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseContentRange(s)
		if err != nil {
			if !errors.Is(err, ErrBadRange) {
				t.Fatalf("%q: error %v is not ErrBadRange", s, err)
			}
			return
		}
		if r.Start < 0 || r.End < r.Start || r.Len() < 1 || r.End+1 <= 0 {
			t.Fatalf("%q: accepted bad range %+v", s, r)
		}
		again, err := parseContentRange(strconv.FormatInt(r.Start, 10) + "-" + strconv.FormatInt(r.End, 10))
		if err != nil || again != r {
			t.Fatalf("%q: %+v does not read back: %+v %v", s, r, again, err)
		}
	})
}
