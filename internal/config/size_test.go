package config

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// manyEnv is a canaryflow.yaml whose service has n env keys.
func manyEnv(n int) []byte {
	var b strings.Builder
	b.WriteString("service:\n  name: hello\n  env:\n")
	for i := range n {
		fmt.Fprintf(&b, "    KEY_%d: v%d\n", i, i)
	}
	return []byte(b.String())
}

// BenchmarkParseManyEnv measures Parse on a file with many env keys: the
// time per key must not grow with the number of keys.
func BenchmarkParseManyEnv(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000, 300_000} {
		data := manyEnv(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse("canaryflow.yaml", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// allocated is the number of bytes Parse allocates for data.
func allocated(t *testing.T, data []byte) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := Parse("canaryflow.yaml", data); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestParseIsLinear: ten times the env keys cost about ten times the
// memory (go-yaml's block mappings cost the square: a hundred times), and
// 50,000 keys load. Memory, not time, so that a busy machine cannot fail it.
func TestParseIsLinear(t *testing.T) {
	small, big := allocated(t, manyEnv(2_000)), allocated(t, manyEnv(20_000))
	if ratio := float64(big) / float64(small); ratio > 20 {
		t.Errorf("10x the keys allocated %.0fx the memory (%d -> %d bytes): parsing is not linear", ratio, small, big)
	}
	c, err := Parse("canaryflow.yaml", manyEnv(50_000))
	if err != nil || len(c.Service.Env) != 50_000 || c.Service.Env["KEY_49999"] != "v49999" {
		t.Fatalf("50,000 env keys: %v", err)
	}
}

// TestManyBadEntriesStayLinear: a problem per entry is reported with its
// line without parsing the document again for each.
func TestManyBadEntriesStayLinear(t *testing.T) {
	var b strings.Builder
	b.WriteString("aws:\n  subnets:\n")
	for i := range 20_000 {
		fmt.Fprintf(&b, "  - vpc-%08d\n", i)
	}
	_, err := Parse("c.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "c.yaml:3: aws.subnets[0]") || !strings.Contains(err.Error(), "c.yaml:20002: aws.subnets[19999]") {
		t.Fatalf("got %.300v", err)
	}
}

// TestUnusualLongMappingIsRefused: a document flowForm leaves to go-yaml
// may not hold a collection longer than MaxBlockEntries.
func TestUnusualLongMappingIsRefused(t *testing.T) {
	doc := append([]byte("service:\n  name: &n hello\n"), manyEnv(MaxBlockEntries + 1)[len("service:\n  name: hello\n"):]...)
	_, err := Parse("c.yaml", doc)
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != MaxBlockEntries+4 || !strings.Contains(err.Error(), "more than 1000 entries") {
		t.Fatalf("got %v", err)
	}
}
