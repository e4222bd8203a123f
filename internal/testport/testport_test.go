package testport

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestReservedPortIsNotGivenToAnotherBinary reserves ports here, then asks
// a second process (this test binary again) for many ports: it never gets
// one of ours, even though they are not listened on.
func TestReservedPortIsNotGivenToAnotherBinary(t *testing.T) {
	if os.Getenv("TESTPORT_CHILD") == "1" {
		for range 150 {
			p, err := Reserve()
			if err != nil {
				t.Fatal(err)
			}
			os.Stdout.WriteString(strconv.Itoa(p) + "\n")
		}
		return
	}
	mine := map[string]bool{}
	for range 1000 {
		p, err := Reserve()
		if err != nil {
			t.Fatal(err)
		}
		if mine[strconv.Itoa(p)] {
			t.Fatalf("port %d given twice in one binary", p)
		}
		mine[strconv.Itoa(p)] = true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestReservedPortIsNotGivenToAnotherBinary$")
	cmd.Env = append(os.Environ(), "TESTPORT_CHILD=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, line := range strings.Fields(string(out)) {
		if mine[line] {
			t.Fatalf("another binary was given port %s, reserved here", line)
		}
	}
}
