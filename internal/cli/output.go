package cli

import (
	"encoding/json"
	"io"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
)

// outputFormats are the values of every command's -o/--output flag.
var outputFormats = []string{"text", "json", "yaml"}

// output is the -o/--output flag of a list or status command. JSON and YAML
// print the same document (YAML is converted from the JSON, so both have
// one set of keys): camelCase keys, durations as "5m0s" with a …Seconds
// number beside them, RFC 3339 times, and lists that are [], never null.
type output struct{ format string }

// register adds -o/--output to cmd, as a persistent flag for a group
// command whose subcommands all print.
func (o *output) register(cmd *cobra.Command, persistent bool) {
	fs := cmd.Flags()
	if persistent {
		fs = cmd.PersistentFlags()
	}
	fs.StringVarP(&o.format, "output", "o", "text", "output format: "+strings.Join(outputFormats, ", "))
}

// check refuses an unknown format (exit 2) before anything runs.
func (o *output) check() error {
	if !slices.Contains(outputFormats, o.format) {
		return usageErrorf("--output %q: want %s", o.format, strings.Join(outputFormats, ", "))
	}
	return nil
}

// structured reports whether the output is a document (json or yaml).
func (o *output) structured() bool { return o.format == "json" || o.format == "yaml" }

// print writes v as the chosen document, or calls text.
func (o *output) print(w io.Writer, v any, text func()) error {
	switch o.format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		out, err := yaml.JSONToYAML(data)
		if err != nil {
			return err
		}
		_, err = w.Write(out)
		return err
	}
	text()
	return nil
}

// completeOutputFlags lets shell completion offer the output formats for
// every -o/--output flag in the tree.
func completeOutputFlags(c *cobra.Command) {
	if c.LocalFlags().Lookup("output") != nil {
		// A flag registered twice (a persistent one seen from a child) is
		// refused by cobra; the first registration serves every command.
		_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats, cobra.ShellCompDirectiveNoFileComp))
	}
	for _, sub := range c.Commands() {
		completeOutputFlags(sub)
	}
}
