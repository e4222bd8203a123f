package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/canaryflow/canaryflow/internal/build"
	"github.com/canaryflow/canaryflow/internal/config"
	"github.com/canaryflow/canaryflow/internal/git"
	"github.com/canaryflow/canaryflow/internal/loopback"
	"github.com/canaryflow/canaryflow/internal/registry"
	"github.com/canaryflow/canaryflow/internal/runtime"
	"github.com/canaryflow/canaryflow/internal/statedir"
	"github.com/canaryflow/canaryflow/internal/userfile"
)

// DefaultRegistryAddr is where the CLI serves the embedded registry while a
// command needs it (and where the daemon will serve it).
const DefaultRegistryAddr = "127.0.0.1:5055"

// localFlags locate canaryflow's local state; shared by image and task.
type localFlags struct {
	stateDir     string
	registryAddr string
}

func (f *localFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.stateDir, "state-dir", "", "state directory (default $CANARYFLOW_STATE_DIR, else $XDG_STATE_HOME/canaryflow, else ~/.local/state/canaryflow)")
	cmd.PersistentFlags().StringVar(&f.registryAddr, "registry-addr", "", "loopback address to serve the registry on while the command runs (default $CANARYFLOW_REGISTRY_ADDR, else "+DefaultRegistryAddr+"; a busy port falls back to a free one)")
}

// resolveStateDir applies the flag, then the environment, then XDG.
func (f *localFlags) resolveStateDir() (string, error) { return statedir.Resolve(f.stateDir) }

func (f *localFlags) addr() string {
	if f.registryAddr != "" {
		return f.registryAddr
	}
	if a := os.Getenv("CANARYFLOW_REGISTRY_ADDR"); a != "" {
		return a
	}
	return DefaultRegistryAddr
}

// local is the registry and runtimes a command works on, without a daemon.
type local struct {
	stateDir string
	reg      *registry.Registry
	// registryHost is host:port of the registry served for this command.
	registryHost string
	stopServe    func()
}

// openLocal opens the registry store; it serves it only when serve is set.
func openLocal(ctx context.Context, f *localFlags, serve bool) (*local, error) {
	return openLocalKeeping(ctx, f, serve, 0)
}

// openLocalKeeping is openLocal with the registry's lifecycle rule on: after
// a push only the newest keepLast images of the repository stay (plus any a
// running task uses). Zero keeps every image.
func openLocalKeeping(ctx context.Context, f *localFlags, serve bool, keepLast int) (*local, error) {
	dir, err := f.resolveStateDir()
	if err != nil {
		return nil, err
	}
	l := &local{stateDir: dir, stopServe: func() {}}
	l.reg, err = registry.New(registry.Options{
		Dir:      filepath.Join(dir, "registry"),
		InUse:    l.inUse,
		KeepLast: keepLast,
	})
	if err != nil {
		return nil, err
	}
	if !serve {
		return l, nil
	}
	addr := f.addr()
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := registry.Listen(addr)
	if err != nil {
		// Taken: by a registry over this same store (the daemon, another
		// command) that accepts our token, then use it; else serve on a free
		// port: images are stored by digest, not by address.
		if sharesStore(ctx, addr, l.reg.Token()) {
			l.registryHost = addr
			return l, nil
		}
		if ln, err = registry.Listen("127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); _ = l.reg.Serve(sctx, ln) }()
	l.registryHost = ln.Addr().String()
	l.stopServe = func() { cancel(); <-done }
	return l, nil
}

func (l *local) close() { l.stopServe() }

// sharesStore reports whether a registry at addr accepts token, which only
// one serving this state directory's store does.
func sharesStore(ctx context.Context, addr, token string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v2/", nil)
	if err != nil {
		return false
	}
	req.SetBasicAuth(registry.Username, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// checkLoopback refuses to serve the registry beyond this machine from the CLI.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageErrorf("registry address %q: %v", addr, err)
	}
	if !loopback.IsHost(host) {
		return usageErrorf("registry address %q: the CLI serves the registry on loopback only", addr)
	}
	return nil
}

// runtimes returns the process runtime and, when an engine answers, docker.
// The engine's client lives as long as the command does.
func (l *local) runtimes(ctx context.Context) ([]runtime.Runtime, error) {
	rts, _, err := runtime.Available(ctx, l.processDir(), l.reg.Token())
	return rts, err
}

// inUse collects the image digests of running tasks of every runtime.
func (l *local) inUse(ctx context.Context) (map[string]bool, error) {
	return runtime.ImagesInUse(ctx, l.processDir(), l.reg.Token())
}

func newImageCommand() *cobra.Command {
	var lf localFlags
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build, list and delete images in the embedded registry (the local ECR)",
		Long: `image works on canaryflow's embedded OCI registry, stored under the state
directory (registry/). Pushing to and pulling from it needs its token
(registry/auth-token); the commands here use the store directly and serve
the registry on loopback only while they need it.`,
		Example: `  canaryflow image build --tag v1.2.3 examples/hello
  canaryflow image ls hello
  canaryflow image rm hello:v1.2.3`,
	}
	lf.register(cmd)
	cmd.AddCommand(newImageBuildCommand(&lf), newImageLsCommand(&lf), newImageRmCommand(&lf), newImagePruneCommand(&lf))
	return cmd
}

// repoNameCleaner turns a directory name into a repository name.
var repoNameCleaner = regexp.MustCompile(`[^a-z0-9._-]+`)

func newImageBuildCommand(lf *localFlags) *cobra.Command {
	var tag, repo, builder, version, commit, dockerfile string
	keepLast := -1
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Build DIR into an image and push it to the registry",
		Long: `build turns DIR (default .) into an image in the embedded registry and
prints its reference with the digest.

Builders (--builder):
  go          daemonless, like ko: CGO_ENABLED=0 go build -trimpath, one layer
              on an empty base, entrypoint /<name>, OCI labels; reproducible:
              the same source gives the same digest
  dockerfile  the Docker engine builds DIR/Dockerfile and pushes the result
  auto        go when DIR holds a Go main package, else dockerfile when
              DIR has a Dockerfile (default)

The version (-X main.version and the version label) is --version, else
--tag without its leading "v" when it is a version, else DIR/VERSION. The
revision label is --commit, else DIR's git HEAD when its work tree is clean.

After the push the registry's lifecycle rule keeps the newest --keep-last
images of the repository (default: service.keep_images in canaryflow.yaml,
else 30) and deletes older ones, never one a running task uses.`,
		Example: `  canaryflow image build --tag v1.2.3 examples/hello
  canaryflow image build --builder dockerfile --repo web --tag v2 ./web`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
				return usageErrorf("build: %s is not a directory", dir)
			}
			if repo == "" {
				repo = strings.Trim(repoNameCleaner.ReplaceAllString(strings.ToLower(filepath.Base(abs)), "-"), "-._")
			}
			if err := registry.ValidateRepository(repo); err != nil {
				return usageErrorf("build: %v", err)
			}
			if tag == "" {
				tag = "latest"
			}
			if err := registry.ValidateTag(tag); err != nil {
				return usageErrorf("build: %v", err)
			}
			if version == "" {
				version = versionFrom(tag, abs)
			}
			if err := build.ValidateBuilder(builder); err != nil {
				return usageErrorf("build: %v", err)
			}
			opts := build.ImageOptions{Builder: builder, Dir: abs, Dockerfile: dockerfile,
				Version: version, Commit: commit, Progress: cmd.ErrOrStderr()}
			if opts.Builder, err = build.Choose(cmd.Context(), opts); errors.Is(err, build.ErrNoBuilder) {
				return usageErrorf("build: %s has neither a Go main package nor a Dockerfile", dir)
			} else if err != nil {
				return err
			}
			if keepLast < -1 {
				return usageErrorf("build: --keep-last %d: want 0 (keep all) or a positive number", keepLast)
			}
			if keepLast < 0 {
				if keepLast, err = configuredKeep(cmd); err != nil {
					return err
				}
			}
			if commit == "" {
				opts.Commit = cleanHead(cmd.Context(), abs)
			}
			l, err := openLocalKeeping(cmd.Context(), lf, true, keepLast)
			if err != nil {
				return err
			}
			defer l.close()
			opts.Target = build.Target{Registry: l.registryHost, Repository: repo, Tag: tag, Token: l.reg.Token()}
			ref, err := build.Image(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), ref.String())
			return nil
		},
	}
	cmd.Flags().StringVar(&tag, "tag", "", "image tag (default latest)")
	cmd.Flags().StringVar(&repo, "repo", "", "repository name (default: DIR's base name)")
	cmd.Flags().StringVar(&builder, "builder", "auto", "auto, go or dockerfile")
	cmd.Flags().StringVar(&version, "version", "", "version to stamp (default: from --tag or DIR/VERSION)")
	cmd.Flags().StringVar(&commit, "commit", "", "source revision for the org.opencontainers.image.revision label (default: DIR's git HEAD when clean)")
	cmd.Flags().IntVar(&keepLast, "keep-last", -1, "lifecycle rule after the push: keep the newest N images of the repository, 0 keeps all (default: service.keep_images, else 30)")
	cmd.Flags().StringVar(&dockerfile, "file", "", "Dockerfile path inside DIR (dockerfile builder; default Dockerfile)")
	return cmd
}

var semverTag = regexp.MustCompile(`^v?([0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?)$`)

// versionFrom derives the version from a SemVer tag, else DIR/VERSION.
func versionFrom(tag, dir string) string {
	if m := semverTag.FindStringSubmatch(tag); m != nil {
		return m[1]
	}
	if b, err := userfile.Read(filepath.Join(dir, "VERSION")); err == nil {
		v := strings.TrimSpace(string(b))
		if semverTag.MatchString(v) {
			return strings.TrimPrefix(v, "v")
		}
	}
	return ""
}

// imageDoc is one image of `image ls -o json`.
type imageDoc struct {
	Repository string    `json:"repository"`
	Tags       []string  `json:"tags"`
	Digest     string    `json:"digest"`
	SizeBytes  int64     `json:"sizeBytes"`
	PushedAt   time.Time `json:"pushedAt"`
}

func newImageLsCommand(lf *localFlags) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "ls [REPO]",
		Short: "List images, newest first",
		Long: `ls lists the images of REPO (or of every repository), newest push first,
with their tags, digest, size and push time.`,
		Example: `  canaryflow image ls
  canaryflow image ls hello -o json`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			repo := ""
			if len(args) == 1 {
				repo = args[0]
				if err := registry.ValidateRepository(repo); err != nil {
					return usageErrorf("ls: %v", err)
				}
			}
			l, err := openLocal(cmd.Context(), lf, false)
			if err != nil {
				return err
			}
			imgs, err := l.reg.Images(repo)
			if err != nil {
				return err
			}
			if out.structured() {
				docs := []imageDoc{}
				for _, img := range imgs {
					docs = append(docs, imageDoc{Repository: img.Repository, Tags: append([]string{}, img.Tags...),
						Digest: img.Digest, SizeBytes: img.Size, PushedAt: img.PushedAt.UTC()})
				}
				return out.print(cmd.OutOrStdout(), docs, nil)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "REPOSITORY\tTAGS\tDIGEST\tSIZE\tPUSHED")
			for _, img := range imgs {
				tags := strings.Join(img.Tags, ",")
				if tags == "" {
					tags = "<none>"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", img.Repository, tags, img.Digest, humanSize(img.Size), img.PushedAt.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
	out.register(cmd, false)
	return cmd
}

func newImageRmCommand(lf *localFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rm REF",
		Short: "Delete an image (all its tags) unless a running task uses it",
		Long: `rm deletes the image REF names (repo:tag or repo@sha256:…, with or without
the registry host), with all its tags and the layers no other image uses.
An image a running task uses is refused.`,
		Example: `  canaryflow image rm hello:v1.2.3`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := registry.ParseRef(args[0])
			if err != nil {
				return usageErrorf("rm: %v", err)
			}
			l, err := openLocal(cmd.Context(), lf, false)
			if err != nil {
				return err
			}
			img, err := l.reg.Delete(cmd.Context(), ref.Repository, ref.Reference())
			if errors.Is(err, registry.ErrNotFound) {
				return &notFoundError{msg: fmt.Sprintf("image rm %s: no such image (canaryflow image ls lists them)", args[0])}
			}
			if err != nil {
				return fmt.Errorf("image rm %s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s@%s\n", img.Repository, img.Digest)
			return nil
		},
	}
}

func newImagePruneCommand(lf *localFlags) *cobra.Command {
	keepLast := -1
	cmd := &cobra.Command{
		Use:   "prune [REPO]",
		Short: "Apply the lifecycle rule now: keep the newest N images of each repository",
		Long: `prune keeps the newest --keep-last images of REPO (or of every repository)
and deletes the older ones with the layers no other image uses, as an ECR
lifecycle policy does. An image a running task uses (any runtime, daemon
or task run) is never deleted, however old.`,
		Example: `  canaryflow image prune
  canaryflow image prune --keep-last 3 hello`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var repos []string
			if len(args) == 1 {
				if err := registry.ValidateRepository(args[0]); err != nil {
					return usageErrorf("prune: %v", err)
				}
				repos = args
			}
			if keepLast == 0 || keepLast < -1 {
				return usageErrorf("prune: --keep-last %d: want a positive number of images", keepLast)
			}
			var err error
			if keepLast < 0 {
				if keepLast, err = configuredKeep(cmd); err != nil {
					return err
				}
			}
			l, err := openLocalKeeping(cmd.Context(), lf, false, keepLast)
			if err != nil {
				return err
			}
			if repos == nil {
				if repos, err = l.reg.Repositories(); err != nil {
					return err
				}
			}
			n := 0
			for _, repo := range repos {
				deleted, err := l.reg.Prune(cmd.Context(), repo)
				for _, img := range deleted {
					fmt.Fprintf(cmd.OutOrStdout(), "deleted %s@%s\n", img.Repository, img.Digest)
				}
				n += len(deleted)
				if err != nil {
					return fmt.Errorf("image prune %s: %w", repo, err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d image(s) deleted; the newest %d of each repository kept\n", n, keepLast)
			return nil
		},
	}
	cmd.Flags().IntVar(&keepLast, "keep-last", -1, "images to keep per repository (default: service.keep_images in canaryflow.yaml, else 30)")
	return cmd
}

// configuredKeep is service.keep_images of canaryflow.yaml in the working
// directory, else config.DefaultKeepImages.
func configuredKeep(cmd *cobra.Command) (int, error) {
	dir, err := workDir(cmd)
	if err != nil {
		return 0, err
	}
	cfg, err := loadConfig(cmd, dir)
	if err != nil {
		return 0, err
	}
	if cfg.Service == nil {
		return config.DefaultKeepImages, nil
	}
	return cfg.Service.KeepImages, nil
}

// cleanHead is the HEAD commit of the git work tree around dir when nothing
// in it is modified; empty otherwise (a label must not name a commit the
// image's source differs from).
func cleanHead(ctx context.Context, dir string) string {
	repo, err := git.Open(ctx, dir)
	if err != nil {
		return ""
	}
	sha, ok, err := repo.RevParse(ctx, "HEAD")
	if err != nil || !ok {
		return ""
	}
	if dirty, err := repo.DirtyFiles(ctx); err != nil || len(dirty) > 0 {
		return ""
	}
	return sha
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fkB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
