// Package cli holds canaryflow's cobra command tree. Commands turn flags and
// the configuration file into plain option structs and call the packages
// below; this package is, with internal/server, the only reader of config.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

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
		newDashboardCommand(), newNotifyCommand(),
		newAWSCommand(),
		newProtectCommand(), newHookCommand(),
	)
	addCompletionCommand(root)
	root.SetHelpCommand(newHelpCommand(root))
	completeOutputFlags(root)
	strictCommands(root)
	return root
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
