package proxycmd

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/canaryflow/canaryflow/internal/loopback"
	"github.com/canaryflow/canaryflow/internal/secretfile"
	"github.com/canaryflow/canaryflow/internal/statedir"
)

// AdminTokenEnv is the variable set-weight reads the token from when
// --admin-token is not given.
const AdminTokenEnv = "CANARYFLOW_ADMIN_TOKEN"

// The admin endpoint is never open. Without --admin-token the proxy draws a
// token at random and writes it, readable by its user only, to
//
//	<state dir>/proxy/admin-<host>-<port>.token
//
// (state dir: $CANARYFLOW_STATE_DIR, else $XDG_STATE_HOME/canaryflow, else
// ~/.local/state/canaryflow; host is "loopback" for any loopback name or
// address), where set-weight run by the same user finds it from the admin
// address alone. The proxy removes the file when it stops; one left by a
// proxy that could not is used again (see secretfile.LoadOrCreate).

// tokenFile returns the path of the generated token of the admin endpoint
// at addr (host:port).
func tokenFile(addr string) (string, error) {
	dir, err := statedir.Resolve("")
	if err != nil {
		return "", err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("admin address %q: want host:port", addr)
	}
	return filepath.Join(dir, "proxy", "admin-"+tokenFileHost(host)+"-"+port+".token"), nil
}

// tokenFileHost names host in a token file name: every loopback name and
// address is "loopback", so `--admin localhost:8090` and `--admin
// 127.0.0.1:8090` find the same file; other hosts keep only safe bytes.
func tokenFileHost(host string) string {
	if loopback.IsHost(host) {
		return "loopback"
	}
	if host == "" {
		return "any"
	}
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, host)
}

// removeTokenFile removes path if it still holds token (another proxy on
// the same address may have replaced it since).
func removeTokenFile(path, token string) {
	if data, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(data)) == token {
		_ = os.Remove(path)
	}
}

// readTokenFile returns the generated token of the admin endpoint at addr.
func readTokenFile(addr string) (string, error) {
	path, err := tokenFile(addr)
	if err != nil {
		return "", err
	}
	token, err := secretfile.Read(path)
	if err != nil {
		return "", fmt.Errorf("read admin token: %w (give --admin-token or $%s)", err, AdminTokenEnv)
	}
	return token, nil
}
