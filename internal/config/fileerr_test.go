package config

import (
	"errors"
	"testing"

	"github.com/canaryflow/canaryflow/internal/awsfmt"
)

// TestFileErrorIsOneType checks that canaryflow.yaml and the AWS files report
// problems with one file:line error type, so a caller matching one matches
// both and the two cannot drift apart.
func TestFileErrorIsOneType(t *testing.T) {
	_, err := Parse("c.yaml", []byte("release:\n  main_brnch: x\n"))
	if err == nil {
		t.Fatal("no error for an unknown key")
	}
	var ae *awsfmt.Error
	if !errors.As(err, &ae) {
		t.Fatalf("config error %T is not an *awsfmt.Error", err)
	}
	if ae.Path != "c.yaml" || ae.Line != 2 {
		t.Errorf("config error place = %s:%d, want c.yaml:2", ae.Path, ae.Line)
	}

	_, err = awsfmt.ParseAppSpec("appspec.yaml", []byte("version: 0.0\n"))
	if err == nil {
		t.Fatal("no error for an appspec without Resources")
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("awsfmt error %T is not a *config.Error", err)
	}
	if ce.Path != "appspec.yaml" {
		t.Errorf("awsfmt error path = %q, want appspec.yaml", ce.Path)
	}
}
