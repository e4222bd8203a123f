package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/loopback"
	"github.com/canaryflow/canaryflow/internal/registry"
	"github.com/canaryflow/canaryflow/internal/runtime"
)

// taskFlags are shared by the task subcommands.
type taskFlags struct {
	local                      localFlags
	runtime                    string
	service, taskSet, revision string
}

func (f *taskFlags) labels() map[string]string {
	l := map[string]string{}
	if f.service != "" {
		l[runtime.LabelService] = f.service
	}
	if f.taskSet != "" {
		l[runtime.LabelTaskSet] = f.taskSet
	}
	if f.revision != "" {
		l[runtime.LabelRevision] = f.revision
	}
	return l
}

func (f *taskFlags) mode() (string, error) {
	m := f.runtime
	if m == "" {
		m = os.Getenv("CANARYFLOW_RUNTIME")
	}
	switch m {
	case "", runtime.ModeAuto, runtime.ModeDocker, runtime.ModeProcess:
		return m, nil
	}
	return "", usageErrorf("unknown runtime %q (want auto, docker or process)", m)
}

func newTaskCommand() *cobra.Command {
	var f taskFlags
	cmd := &cobra.Command{
		Use:   "task",
		Short: "Run, list, stop and tail tasks (the local Fargate)",
		Long: `task starts images from the embedded registry as tasks and manages them.

Runtimes (--runtime, or $CANARYFLOW_RUNTIME):
  docker   a container of the local Docker engine, port published on
           127.0.0.1; it runs on after "task run" returns, and every task
           command finds it again by its labels
  process  the image unpacked under the state directory and its entrypoint run
           as a child process with $PORT; no isolation. Without the daemon,
           "task run" stays in the foreground and the task lives as long as
           it does (Ctrl-C stops it gracefully). Its state file and logs under
           the state directory let "task ls/stop/logs" from another shell find
           it.
  auto     docker when an engine answers, else process (default)

ls, stop, logs and rm look at both runtimes unless --runtime names one.
Tasks are named by ID (a unique prefix of 4+ characters is enough) or
selected with --service/--taskset/--revision.`,
		Example: `  canaryflow task run --env GREETING=hi --port 8080 hello:v1.2.3
  canaryflow task ls --service hello
  canaryflow task logs --follow 3f2a
  canaryflow task stop --service hello --grace 10s`,
	}
	f.local.register(cmd)
	cmd.PersistentFlags().StringVar(&f.runtime, "runtime", "", "auto, docker or process")
	cmd.PersistentFlags().StringVar(&f.service, "service", "", "service label")
	cmd.PersistentFlags().StringVar(&f.taskSet, "taskset", "", "task set label (e.g. blue, green)")
	cmd.PersistentFlags().StringVar(&f.revision, "revision", "", "revision label")
	cmd.AddCommand(newTaskRunCommand(&f), newTaskLsCommand(&f), newTaskStopCommand(&f), newTaskLogsCommand(&f), newTaskRmCommand(&f))
	return cmd
}

func newTaskRunCommand(f *taskFlags) *cobra.Command {
	var envs []string
	var port, containerPort int
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "run IMAGE",
		Short: "Start a task from an image",
		Long: `run starts a task from IMAGE (repo:tag or repo@sha256:…, with or without the
registry host) and prints "ID<TAB>127.0.0.1:PORT". The task gets $PORT (the
port to listen on) and the --env variables.

With the docker runtime the command returns once the container runs. With the
process runtime it stays in the foreground, copying the task's output to
stderr, until the task exits (exit status 1 if it crashed) or canaryflow is
interrupted (then it stops the task with SIGTERM, SIGKILL after --grace).`,
		Example: `  canaryflow task run --env VERSION=1.2.3 --port 8080 hello:v1.2.3
  canaryflow task run --runtime process --service hello --taskset green hello@sha256:…`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			mode, err := f.mode()
			if err != nil {
				return err
			}
			env, err := parseEnv(envs)
			if err != nil {
				return err
			}
			if port < 0 || port > 65535 || containerPort < 0 || containerPort > 65535 {
				return usageErrorf("run: ports must be within 0..65535")
			}
			ref, err := registry.ParseRef(args[0])
			if err != nil {
				return usageErrorf("run: %v", err)
			}
			ctx := cmd.Context()
			l, err := openLocal(ctx, &f.local, true)
			if err != nil {
				return err
			}
			defer l.close()
			image := args[0]
			if ref.Host == "" || loopback.IsHost(ref.Host) {
				img, err := l.reg.Resolve(ref.Repository, ref.Reference())
				if errors.Is(err, registry.ErrNotFound) {
					return &notFoundError{msg: fmt.Sprintf("run: no such image %s in canaryflow's registry\n"+
						"  See the images there: canaryflow image ls\n"+
						"  Build one:            canaryflow image build --tag %s DIR", args[0], orDefault(ref.Reference(), "vX.Y.Z"))}
				}
				if err != nil {
					return fmt.Errorf("run: image %s: %w", args[0], err)
				}
				image = registry.Ref{Host: l.registryHost, Repository: img.Repository, Digest: img.Digest}.String()
			}
			rt, err := runtime.Select(ctx, runtime.SelectOptions{
				Mode: mode, StateDir: l.processDir(), RegistryToken: l.reg.Token(), RegistryHost: l.registryHost,
			})
			if err != nil {
				return err
			}
			task, err := rt.Start(ctx, runtime.TaskSpec{
				Image: image, Env: env, HostPort: port, ContainerPort: containerPort,
				Service: f.service, TaskSet: f.taskSet, Revision: f.revision,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", task.ID, task.Addr)
			p, ok := rt.(*runtime.Process)
			if !ok {
				fmt.Fprintf(cmd.ErrOrStderr(), "task %s runs in docker at http://%s\n", shortTaskID(task.ID), task.Addr)
				return nil
			}
			l.close() // the image is unpacked: the registry is no longer needed
			return foreground(ctx, p, task, grace, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringArrayVarP(&envs, "env", "e", nil, "environment variable K=V (repeatable)")
	cmd.Flags().IntVarP(&port, "port", "p", 0, "127.0.0.1 port to publish on (default: a free port)")
	cmd.Flags().IntVar(&containerPort, "container-port", 0, "port the task listens on inside the container (docker; default 8080)")
	cmd.Flags().DurationVar(&grace, "grace", 30*time.Second, "on interrupt: time between SIGTERM and SIGKILL")
	return cmd
}

// foreground streams a process task's output until it exits or ctx ends.
func foreground(ctx context.Context, p *runtime.Process, task runtime.Task, grace time.Duration, stderr io.Writer) error {
	fmt.Fprintf(stderr, "task %s runs at http://%s (process runtime; Ctrl-C stops it)\n", task.ID, task.Addr)
	logCtx, stopLogs := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if rc, err := p.Logs(logCtx, task.ID, true); err == nil {
		wg.Add(1)
		go func() { defer wg.Done(); defer rc.Close(); io.Copy(stderr, rc) }()
	}
	st, err := p.Wait(ctx, task.ID)
	if err != nil { // interrupted: stop the task gracefully
		if serr := p.Stop(context.WithoutCancel(ctx), task.ID, grace); serr != nil {
			stopLogs()
			wg.Wait()
			return serr
		}
		st, err = p.Wait(context.WithoutCancel(ctx), task.ID)
	}
	wg.Wait() // the follower ends once the task has exited
	stopLogs()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "task %s exited with code %d (%s)\n", task.ID, st.ExitCode, st.Reason)
	if st.Reason == "crashed" {
		return fmt.Errorf("task %s crashed: exit code %d", task.ID, st.ExitCode)
	}
	return nil
}

func (l *local) processDir() string { return l.stateDir + string(os.PathSeparator) + "process" }

// parseEnv parses K=V pairs.
func parseEnv(kvs []string) (map[string]string, error) {
	env := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\x00") {
			return nil, usageErrorf("--env %q: want KEY=VALUE", kv)
		}
		env[k] = v
	}
	return env, nil
}

// found is a task with the runtime that reports it.
type found struct {
	rt   runtime.Runtime
	task runtime.Task
}

// findTasks returns the tasks that id (a prefix) or the label flags select.
func findTasks(ctx context.Context, f *taskFlags, args []string) ([]found, *local, error) {
	mode, err := f.mode()
	if err != nil {
		return nil, nil, err
	}
	id := ""
	if len(args) == 1 {
		id = args[0]
		if len(id) < 4 {
			return nil, nil, usageErrorf("task ID %q: give at least 4 characters", id)
		}
	}
	l, err := openLocal(ctx, &f.local, false)
	if err != nil {
		return nil, nil, err
	}
	rts, err := l.runtimes(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []found
	for _, rt := range rts {
		if mode != "" && mode != runtime.ModeAuto && rt.Name() != mode {
			continue
		}
		tasks, err := rt.List(ctx, f.labels())
		if err != nil {
			return nil, nil, err
		}
		for _, t := range tasks {
			if id == "" || strings.HasPrefix(t.ID, id) {
				out = append(out, found{rt, t})
			}
		}
	}
	return out, l, nil
}

// oneTask requires exactly one match.
func oneTask(ctx context.Context, f *taskFlags, args []string) (found, error) {
	if len(args) == 0 && len(f.labels()) == 0 {
		return found{}, usageErrorf("name a task by ID or by --service/--taskset/--revision")
	}
	fs, _, err := findTasks(ctx, f, args)
	if err != nil {
		return found{}, err
	}
	switch len(fs) {
	case 0:
		return found{}, fmt.Errorf("no such task: %w", runtime.ErrNotFound)
	case 1:
		return fs[0], nil
	}
	return found{}, usageErrorf("%d tasks match; give a longer ID or more labels", len(fs))
}

func newTaskLsCommand(f *taskFlags) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List tasks, running and exited",
		Long: `ls lists the tasks of both runtimes (or of --runtime), filtered by the label
flags: ID, runtime, state, address, service/taskset/revision and image.`,
		Example: `  canaryflow task ls --service hello --taskset green
  canaryflow task ls -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			fs, _, err := findTasks(cmd.Context(), f, nil)
			if err != nil {
				return err
			}
			if out.structured() {
				tasks := []runtime.Task{}
				for _, x := range fs {
					t := x.task
					if t.Labels == nil {
						t.Labels = map[string]string{}
					}
					tasks = append(tasks, t)
				}
				return out.print(cmd.OutOrStdout(), tasks, nil)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tRUNTIME\tSTATE\tADDR\tSERVICE\tTASKSET\tREVISION\tIMAGE")
			for _, x := range fs {
				t := x.task
				state := string(t.State)
				if t.State == runtime.StateExited {
					state = fmt.Sprintf("exited(%d) %s", t.ExitCode, t.Reason)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", shortTaskID(t.ID), t.Runtime, state, t.Addr,
					dash(t.Labels[runtime.LabelService]), dash(t.Labels[runtime.LabelTaskSet]), dash(t.Labels[runtime.LabelRevision]), t.Image)
			}
			return tw.Flush()
		},
	}
	out.register(cmd, false)
	return cmd
}

func newTaskStopCommand(f *taskFlags) *cobra.Command {
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "stop [ID]",
		Short: "Stop tasks: SIGTERM, then SIGKILL after the grace period",
		Long: `stop stops the task ID, or every running task the label flags select:
SIGTERM first, SIGKILL if it has not exited after --grace. The task stays
listed as exited until "task rm".`,
		Example: `  canaryflow task stop 3f2a
  canaryflow task stop --service hello --taskset blue --grace 10s`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(f.labels()) == 0 {
				return usageErrorf("stop: name a task by ID or by --service/--taskset/--revision")
			}
			fs, _, err := findTasks(cmd.Context(), f, args)
			if err != nil {
				return err
			}
			if len(fs) == 0 {
				return fmt.Errorf("stop: no such task: %w", runtime.ErrNotFound)
			}
			var errs []error
			for _, x := range fs {
				if x.task.State != runtime.StateRunning {
					continue
				}
				if err := x.rt.Stop(cmd.Context(), x.task.ID, grace); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "stopped %s\n", shortTaskID(x.task.ID))
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().DurationVar(&grace, "grace", 30*time.Second, "time between SIGTERM and SIGKILL")
	return cmd
}

func newTaskLogsCommand(f *taskFlags) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs [ID]",
		Short: "Print a task's output",
		Long: `logs prints the stdout and stderr of one task (by ID or labels); with
--follow it keeps printing until the task exits or canaryflow is interrupted.`,
		Example: `  canaryflow task logs --follow 3f2a`,
		Args:    usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			x, err := oneTask(cmd.Context(), f, args)
			if err != nil {
				return err
			}
			rc, err := x.rt.Logs(cmd.Context(), x.task.ID, follow)
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(cmd.OutOrStdout(), rc)
			if cmd.Context().Err() != nil {
				return nil
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output")
	return cmd
}

func newTaskRmCommand(f *taskFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rm [ID]",
		Short: "Remove exited tasks",
		Long: `rm removes the exited task ID, or every exited task the label flags select,
with its logs. Running tasks are left alone (stop them first).`,
		Example: `  canaryflow task rm --service hello`,
		Args:    usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(f.labels()) == 0 {
				return usageErrorf("rm: name a task by ID or by --service/--taskset/--revision")
			}
			fs, _, err := findTasks(cmd.Context(), f, args)
			if err != nil {
				return err
			}
			if len(fs) == 0 {
				return fmt.Errorf("rm: no such task: %w", runtime.ErrNotFound)
			}
			var errs []error
			for _, x := range fs {
				if x.task.State == runtime.StateRunning {
					if len(args) == 1 {
						errs = append(errs, fmt.Errorf("rm %s: %w (stop it first)", shortTaskID(x.task.ID), runtime.ErrRunning))
					}
					continue
				}
				if err := x.rt.Remove(cmd.Context(), x.task.ID); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", shortTaskID(x.task.ID))
			}
			return errors.Join(errs...)
		},
	}
}

func shortTaskID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
