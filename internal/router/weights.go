package router

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// WeightScale is the sum of the two groups' weights: weights are per-mille,
// so traffic moves in 0.1% steps.
const WeightScale = 1000

// ErrInvalidWeights is returned for weights outside 0..WeightScale or whose
// sum is not WeightScale.
var ErrInvalidWeights = errors.New("invalid weights")

// Weights is the production split between the groups, in per-mille. The zero
// value is not valid on its own; the router treats {0, 0} in Options as all
// traffic on blue.
type Weights struct {
	Blue  int `json:"blue"`
	Green int `json:"green"`
}

// Validate reports whether both weights lie in 0..WeightScale and sum to it.
func (w Weights) Validate() error {
	if w.Blue < 0 || w.Green < 0 || w.Blue+w.Green != WeightScale {
		return fmt.Errorf("weights blue=%d green=%d (per-mille, each 0..%d, sum %d): %w",
			w.Blue, w.Green, WeightScale, WeightScale, ErrInvalidWeights)
	}
	return nil
}

// GreenWeights returns the split that sends green per-mille of traffic to
// green and the rest to blue.
func GreenWeights(green int) Weights { return Weights{Blue: WeightScale - green, Green: green} }

// String renders the split as percentages, e.g. "blue 90.0% / green 10.0%".
func (w Weights) String() string {
	return fmt.Sprintf("blue %.1f%% / green %.1f%%", float64(w.Blue)/10, float64(w.Green)/10)
}

// ParsePercent turns a percentage with at most one decimal ("10", "2.5",
// "100") into per-mille. It is how the CLI reads --green-weight and
// set-weight's argument.
func ParsePercent(s string) (int, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	if s == "" {
		return 0, fmt.Errorf("parse percent %q: empty", s)
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if hasFrac && (len(frac) != 1 || frac[0] < '0' || frac[0] > '9') {
		return 0, fmt.Errorf("parse percent %q: at most one decimal (0.1%% steps)", s)
	}
	if whole == "" || strings.ContainsAny(whole, "+-") {
		return 0, fmt.Errorf("parse percent %q: want a number from 0 to 100", s)
	}
	n, err := strconv.ParseUint(whole, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("parse percent %q: want a number from 0 to 100", s)
	}
	pm := int(n) * 10
	if hasFrac {
		pm += int(frac[0] - '0')
	}
	if pm > WeightScale {
		return 0, fmt.Errorf("parse percent %q: above 100", s)
	}
	return pm, nil
}

// splitter is nginx's smooth weighted round-robin over the two groups. It is
// deterministic: at 10% green exactly one request in every ten consecutive
// ones goes to green, however the requests arrive.
type splitter struct {
	mu      sync.Mutex
	w       Weights
	current [2]int
}

func (s *splitter) set(w Weights) {
	s.mu.Lock()
	s.w = w
	s.current = [2]int{}
	s.mu.Unlock()
}

func (s *splitter) weights() Weights {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w
}

// next returns the group the next weighted request belongs to.
func (s *splitter) next() Group {
	s.mu.Lock()
	s.current[Blue] += s.w.Blue
	s.current[Green] += s.w.Green
	g := Blue
	if s.current[Green] > s.current[Blue] {
		g = Green
	}
	s.current[g] -= WeightScale
	s.mu.Unlock()
	return g
}

// weightOf returns g's current weight.
func (s *splitter) weightOf(g Group) int {
	w := s.weights()
	if g == Green {
		return w.Green
	}
	return w.Blue
}
