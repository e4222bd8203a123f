package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"time"

	"github.com/spf13/cobra"
)

func newDashboardCommand() *cobra.Command {
	var af apiFlags
	var noOpen bool
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Print a one-time link that signs a browser in to the daemon's dashboard, and open it",
		Long: `dashboard asks the running daemon (canaryflow up) for a sign-in link to
its web page, prints it, and opens it in a browser when there is one.

The link signs one browser in, once, within two minutes; the session is a
cookie the page's scripts cannot read (HttpOnly, SameSite=Strict), and
every action the page takes carries the session's CSRF token. A daemon
restart signs every browser out.`,
		Example: `  canaryflow dashboard
  canaryflow dashboard --no-open`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			path, err := c.DashboardLink(cmd.Context())
			if err != nil {
				return err
			}
			link := "http://" + c.Addr + path
			out := cmd.OutOrStdout()
			if af.format == "json" {
				return af.print(out, map[string]string{"url": link}, nil)
			}
			fmt.Fprintln(out, link)
			if !noOpen && isTerminal(out) {
				if err := openBrowser(cmd.Context(), link); err == nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "opened in your browser; the link works once")
				}
			}
			return nil
		},
	}
	af.register(cmd)
	cmd.Flags().BoolVar(&noOpen, "no-open", false, "print the link only")
	return cmd
}

// openBrowser hands link to the desktop's opener, when there is a desktop.
// The link is one argument of its argv; no shell sees it.
func openBrowser(ctx context.Context, link string) error {
	var name string
	switch goruntime.GOOS {
	case "darwin":
		name = "open"
	case "linux", "freebsd", "openbsd", "netbsd":
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return fmt.Errorf("no desktop")
		}
		name = "xdg-open"
	default:
		return fmt.Errorf("no opener on %s", goruntime.GOOS)
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, path, link).Run()
}
