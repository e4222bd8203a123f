package router

import (
	"strings"
	"testing"
)

func TestSplitterSequence(t *testing.T) {
	tests := []struct {
		green int
		want  string // one period of the sequence
	}{
		{0, "BBBBBBBBBB"},
		{100, "BBBBBGBBBB"},
		{250, "BBGB"},
		{500, "BG"},
		{900, "GGGGBGGGGG"},
		{1000, "GGGGGGGGGG"},
	}
	for _, tt := range tests {
		var s splitter
		s.set(GreenWeights(tt.green))
		var got strings.Builder
		for range 3 * len(tt.want) {
			if s.next() == Green {
				got.WriteByte('G')
			} else {
				got.WriteByte('B')
			}
		}
		if want := strings.Repeat(tt.want, 3); got.String() != want {
			t.Errorf("green %d‰: got %s, want %s", tt.green, got.String(), want)
		}
	}
}

func TestSplitterExactOverAnyWindow(t *testing.T) {
	for _, green := range []int{1, 100, 333, 999} {
		var s splitter
		s.set(GreenWeights(green))
		n := 0
		for range 100_000 {
			if s.next() == Green {
				n++
			}
		}
		if want := green * 100; n != want {
			t.Errorf("green %d‰: %d of 100000 to green, want %d", green, n, want)
		}
	}
}

func TestWeightsValidate(t *testing.T) {
	for _, w := range []Weights{{1000, 0}, {0, 1000}, {900, 100}} {
		if err := w.Validate(); err != nil {
			t.Errorf("%+v: %v", w, err)
		}
	}
	for _, w := range []Weights{{}, {-1, 1001}, {900, 101}, {1000, 1}} {
		if err := w.Validate(); err == nil {
			t.Errorf("%+v: want error", w)
		}
	}
}

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true},
		{"10", 100, true},
		{"2.5", 25, true},
		{"0.1", 1, true},
		{"100", 1000, true},
		{"100.0", 1000, true},
		{" 25% ", 250, true},
		{"", 0, false},
		{"%", 0, false},
		{"100.1", 0, false},
		{"101", 0, false},
		{"-1", 0, false},
		{"+5", 0, false},
		{"2.55", 0, false},
		{"2.", 0, false},
		{".5", 0, false},
		{"abc", 0, false},
		{"1e2", 0, false},
		{"99999999999", 0, false},
		{"5.x", 0, false},
	}
	for _, tt := range tests {
		got, err := ParsePercent(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParsePercent(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParsePercent(f *testing.F) {
	for _, s := range []string{"10", "2.5", "100", "", "-1", "1.23", "0.0%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pm, err := ParsePercent(s)
		if err != nil {
			return
		}
		if pm < 0 || pm > WeightScale {
			t.Fatalf("ParsePercent(%q) = %d, outside 0..%d", s, pm, WeightScale)
		}
		if err := GreenWeights(pm).Validate(); err != nil {
			t.Fatalf("ParsePercent(%q) = %d gives invalid weights: %v", s, pm, err)
		}
	})
}
