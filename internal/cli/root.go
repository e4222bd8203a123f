// Package cli holds canaryflow's cobra command tree. Commands turn flags and
// the configuration file into plain option structs and call the packages
// below; this package is, with internal/server, the only reader of config.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/deploy"
	"github.com/canaryflow/canaryflow/internal/pipeline"
	"github.com/canaryflow/canaryflow/internal/registry"
	"github.com/canaryflow/canaryflow/internal/runtime"
)

// Exit codes, documented in the root command's help and the README.
const (
	ExitOK       = 0 // success
	ExitError    = 1 // the operation failed (git, I/O, a check that did not pass)
	ExitUsage    = 2 // bad flags, arguments or input: nothing was changed
	ExitConflict = 3 // a merge conflict to resolve, or a state that refuses the request now
	ExitNotFound = 4 // no such deployment, execution, image or task
	// ExitInterrupted is 128+SIGINT, as a shell reports a command ended by Ctrl-C.
	ExitInterrupted = 130
)

const exitCodesHelp = `Exit codes:
  0    success
  1    the operation failed (git error, I/O, a check that did not pass)
  2    bad flags, arguments, input or configuration; nothing was changed
  3    conflict: stopped on a merge conflict (resolve it, then the same finish with
       --continue, or --abort), or refused by the current state (a deployment in progress)
  4    not found: no such deployment, execution, image or task
  130  interrupted (Ctrl-C); what runs in the daemon goes on`

// Run executes canaryflow with args and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ie *interruptedError
	if ctx.Err() != nil && errors.Is(err, context.Canceled) && !errors.As(err, &ie) {
		err = &interruptedError{msg: "interrupted"}
	}
	fmt.Fprintf(stderr, "canaryflow: %v\n", err)
	return exitCode(err)
}

// interruptedError is a command stopped by Ctrl-C or SIGTERM; msg says what
// goes on without it.
type interruptedError struct{ msg string }

func (e *interruptedError) Error() string { return e.msg }

// ExitCode is 130, as a shell reports a command ended by SIGINT.
func (e *interruptedError) ExitCode() int { return ExitInterrupted }

// usageError marks errors caused by what the user typed.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf returns an error that maps to ExitUsage.
func usageErrorf(format string, a ...any) error {
	return &usageError{err: fmt.Errorf(format, a...)}
}

// notFoundError is something the user named that does not exist.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

// ExitCode is ExitNotFound.
func (e *notFoundError) ExitCode() int { return ExitNotFound }

// exitCoders lets packages below map their errors to exit codes without
// importing cli: anything implementing ExitCode() int decides its own code.
type exitCoder interface{ ExitCode() int }

func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	for _, nf := range []error{deploy.ErrNotFound, pipeline.ErrNotFound, registry.ErrNotFound, runtime.ErrNotFound} {
		if errors.Is(err, nf) {
			return ExitNotFound
		}
	}
	return ExitError
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "canaryflow",
		Short: "Gitflow + SemVer releases, built and rolled out as a blue/green canary",
		Long: `canaryflow makes a release process real: Gitflow branches and Semantic
Versioning tags drive a pipeline that builds a container image and rolls it
out as a blue/green canary, watches it, and rolls back by itself.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       toolVersion(),
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err: err}
	})
	root.PersistentFlags().StringP("chdir", "C", "", "run as if canaryflow was started in this directory")
	root.PersistentFlags().String("config", "", "configuration file (default: canaryflow.yaml at the repository root, or $CANARYFLOW_CONFIG)")
	root.AddCommand(
		newFlowCommand(),
		newVersionCommand(),
		newProxyCommand(),
		newImageCommand(), newTaskCommand(),
		newUpCommand(), newDeployCommand(), newStatusCommand(), newInitCommand(), newPipelineCommand(), newDemoCommand(),
		newAWSCommand(),
	)
	addCompletionCommand(root)
	root.SetHelpCommand(newHelpCommand(root))
	completeOutputFlags(root)
	strictCommands(root)
	return root
}

// newHelpCommand is `canaryflow help [command]`: cobra's, except that a
// command that does not exist is a usage error (exit 2) with the closest
// match, not the root's help and 0.
func newHelpCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:     "help [command]",
		Short:   "Help about any command",
		Example: "  canaryflow help flow release finish",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, _ := root.Find(args)
			var out []cobra.Completion
			for _, s := range cmd.Commands() {
				if s.IsAvailableCommand() && strings.HasPrefix(s.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(s.Name(), s.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil {
				return &usageError{err: err}
			}
			if err := unknownSubcommand(cmd, rest); err != nil {
				return err
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}

// addCompletionCommand adds cobra's completion command now rather than when
// the tree runs, so it is held to the same rules (an Example on every leaf,
// unknown subcommands exit 2) as the others.
func addCompletionCommand(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		for _, sh := range c.Commands() {
			switch sh.Name() {
			case "bash":
				sh.Example = "  source <(canaryflow completion bash)\n  canaryflow completion bash > /etc/bash_completion.d/canaryflow"
			case "zsh":
				sh.Example = "  canaryflow completion zsh > \"${fpath[1]}/_canaryflow\""
			case "fish":
				sh.Example = "  canaryflow completion fish > ~/.config/fish/completions/canaryflow.fish"
			case "powershell":
				sh.Example = "  canaryflow completion powershell | Out-String | Invoke-Expression"
			}
		}
	}
}

// strictCommands makes the whole tree keep the exit-code contract, for the
// commands of today and those added later: a group command given an unknown
// subcommand, at any depth, exits 2 with cobra's closest matches (a bare
// group prints its help); every wrong argument count and every flag-group or
// required-flag error is a usage error.
func strictCommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strictCommands(sub)
	}
	switch {
	case c.HasSubCommands():
		own := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if own == nil {
				return unknownSubcommand(cmd, args)
			}
			if err := own(cmd, args); err != nil {
				if uerr := unknownSubcommand(cmd, args); uerr != nil {
					return uerr
				}
				return &usageError{err: err}
			}
			return nil
		}
		if !c.Runnable() {
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
			if c.Annotations == nil {
				c.Annotations = map[string]string{}
			}
			c.Annotations[helpGroup] = "true"
		}
	case c.Args != nil:
		c.Args = usageArgs(c.Args)
	}
	preE, pre := c.PreRunE, c.PreRun
	c.PreRun = nil
	c.PreRunE = func(cmd *cobra.Command, args []string) error {
		if err := cmd.ValidateRequiredFlags(); err != nil {
			return &usageError{err: err}
		}
		if err := cmd.ValidateFlagGroups(); err != nil {
			return &usageError{err: err}
		}
		switch {
		case preE != nil:
			return preE(cmd, args)
		case pre != nil:
			pre(cmd, args)
		}
		return nil
	}
}

// helpGroup annotates a group command whose own run is to print its help.
const helpGroup = "canaryflow/help-group"

// unknownSubcommand refuses any argument to a group command, naming the
// closest subcommands.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	msg += fmt.Sprintf("\n\nRun '%s --help' for its commands.", cmd.CommandPath())
	return usageErrorf("%s", msg)
}

// commandFlagErrors makes every subcommand's argument validation errors usage
// errors, so a wrong number of arguments exits 2.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &usageError{err: err}
		}
		return nil
	}
}
