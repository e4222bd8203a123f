package build

import (
	"sort"
	"strings"
)

// inheritedEnv names the variables of canaryflow's own environment that
// every buildspec command gets, when they are set: what a shell needs to
// find programs and write temporary files, the locale, and where the
// Docker engine and its client configuration are (locations, not
// credentials: canaryflow's image step talks to the same engine, and a
// buildspec's `docker build` should too). Nothing else of the daemon's
// environment reaches a build unless the operator names it in
// pipeline.build.pass_env: not its API token, the webhook secret, nor the
// cloud and GitHub tokens of the user who started it.
var inheritedEnv = []string{
	"PATH", "HOME", "TMPDIR", "LANG",
	"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY",
}

// inherits reports whether the daemon's variable name reaches a build
// without being listed in pass.
func inherits(name string, pass []string) bool {
	if strings.HasPrefix(name, "LC_") {
		return true
	}
	for _, n := range inheritedEnv {
		if n == name {
			return true
		}
	}
	for _, n := range pass {
		if n == name {
			return true
		}
	}
	return false
}

// commandEnv is the environment of buildspec commands: the inherited and
// passed variables of daemon (KEY=value lines, as os.Environ), then env,
// which overrides them.
func commandEnv(daemon, pass []string, env map[string]string) []string {
	var out []string
	for _, kv := range daemon {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if _, set := env[name]; !set && inherits(name, pass) {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}
