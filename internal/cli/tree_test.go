package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestEveryLeafHasAnExample walks the whole command tree, whatever commands
// it holds: every leaf has an Example block, each of its lines runs that
// very command, and every flag it shows is one the command has.
func TestEveryLeafHasAnExample(t *testing.T) {
	root := newRootCommand(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	leaves := 0
	for _, c := range allCommands(root) {
		if c.HasAvailableSubCommands() {
			continue
		}
		leaves++
		path := c.CommandPath()
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no example", path)
			continue
		}
		runs := 0
		for _, line := range strings.Split(c.Example, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			cmdLine, _, _ := strings.Cut(line, " #")
			if !strings.HasPrefix(cmdLine+" ", path+" ") {
				continue // another command the example needs, such as image build before up
			}
			runs++
			for _, word := range strings.Fields(cmdLine) {
				if !strings.HasPrefix(word, "-") || word == "-" || word == "--" {
					continue
				}
				if !hasFlag(c, word) {
					t.Errorf("%s: example %q uses %s, which it does not have", path, line, word)
				}
			}
		}
		if runs == 0 {
			t.Errorf("%s: no example line runs it", path)
		}
	}
	if leaves < 40 {
		t.Errorf("walked %d leaves; the tree has more", leaves)
	}
	t.Logf("%d leaf commands walked", leaves)
}

// hasFlag reports whether c accepts word ("--name", "--name=v", "-n").
func hasFlag(c *cobra.Command, word string) bool {
	name, _, _ := strings.Cut(word, "=")
	var f *pflag.Flag
	if long, ok := strings.CutPrefix(name, "--"); ok {
		f = c.Flags().Lookup(long)
		if f == nil {
			f = c.InheritedFlags().Lookup(long)
		}
	} else {
		short := strings.TrimPrefix(name, "-")
		if len(short) != 1 {
			return false
		}
		f = c.Flags().ShorthandLookup(short)
		if f == nil {
			f = c.InheritedFlags().ShorthandLookup(short)
		}
	}
	return f != nil
}

// TestUnknownSubcommandsExitUsage runs every group command of the tree with
// a subcommand it does not have, and with a typo of one it has: both exit 2,
// and the typo is answered with the command meant.
func TestUnknownSubcommandsExitUsage(t *testing.T) {
	root := newRootCommand(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	groups := 0
	for _, c := range allCommands(root) {
		subs := c.Commands()
		if !c.HasAvailableSubCommands() {
			continue
		}
		groups++
		path := strings.Fields(c.CommandPath())[1:]
		var sub string
		for _, s := range subs {
			if s.IsAvailableCommand() && len(s.Name()) > 3 {
				sub = s.Name()
				break
			}
		}
		for _, tc := range []struct{ arg, want string }{
			{"no-such-command", `unknown command "no-such-command"`},
			{sub + "x", "Did you mean this?\n\t" + sub},
		} {
			if tc.arg == "x" {
				continue // a group whose subcommands all have short names
			}
			var out bytes.Buffer
			args := append(append([]string{}, path...), tc.arg)
			code := Run(context.Background(), args, strings.NewReader(""), &out, &out)
			if code != ExitUsage || !strings.Contains(out.String(), tc.want) {
				t.Errorf("canaryflow %s = %d, want %d with %q:\n%s", strings.Join(args, " "), code, ExitUsage, tc.want, out.String())
			}
		}
		if c.Annotations[helpGroup] == "" {
			continue // a group that runs on its own (proxy serves)
		}
		// The bare group prints its help and succeeds.
		var out bytes.Buffer
		if code := Run(context.Background(), path, strings.NewReader(""), &out, &out); code != ExitOK || !strings.Contains(out.String(), "Available Commands:") {
			t.Errorf("canaryflow %s = %d, want its help and 0:\n%s", strings.Join(path, " "), code, out.String())
		}
	}
	if groups < 8 {
		t.Errorf("walked %d group commands; the tree has more", groups)
	}
	t.Logf("%d group commands walked", groups)
}
