// Package awsfmt reads the AWS file formats canaryflow shares with a real
// AWS deployment: the ECS `appspec.yaml` CodeDeploy reads, the ECS
// `taskdef.json` a pipeline registers, and CodeDeploy's deployment
// configuration names. The same files drive a local canary and an AWS one,
// so a team tests its real release before paying for it.
//
// Parsers are strict where AWS is (required fields, known hook names) and
// every error names the file, the line and the field.
package awsfmt

import (
	"bytes"

	"github.com/goccy/go-yaml"

	"github.com/canaryflow/canaryflow/internal/fileerr"
)

// Error is a problem in an AWS file, with the place it was found. It is
// the one file:line error type of package fileerr, which config shares.
type Error = fileerr.Error

// LineOf is the line of a field of a YAML or JSON document, given as a
// dotted path such as "pipeline.stages[2].actions[0]"; 0 when the field
// is not there.
func LineOf(data []byte, field string) int { return lineOf(data, field) }

// lineOf finds the line of a field given as a dotted path such as
// "Resources[0].TargetService.Type"; 0 when the field is not there. It also
// works on JSON documents, which are YAML flow documents.
func lineOf(data []byte, field string) (line int) {
	defer func() {
		if recover() != nil {
			line = 0 // go-yaml can panic on odd documents; the line is a nicety
		}
	}()
	p, err := yaml.PathString("$." + field)
	if err != nil {
		return 0
	}
	node, err := p.ReadNode(bytes.NewReader(data))
	if err != nil || node == nil {
		return 0
	}
	if tk := node.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

// lineAt returns the 1-based line of byte offset off in data.
func lineAt(data []byte, off int64) int {
	if off < 0 {
		return 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}
