// Package examples carries the demo service's source into the canaryflow
// binary, so `canaryflow demo` can create a repository for it anywhere.
package examples

import "embed"

// Hello is examples/hello: main.go, VERSION and the Dockerfile.
//
//go:embed hello/main.go hello/VERSION hello/Dockerfile
var Hello embed.FS
