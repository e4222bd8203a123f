package config

import (
	"crypto/sha256"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/canaryflow/canaryflow/internal/loopback"
)

// Notification kinds a target can ask for.
var NotificationEvents = []string{
	"pipeline.started", "pipeline.succeeded", "pipeline.failed",
	"deployment.started", "deployment.ready_wait", "deployment.succeeded", "deployment.rolled_back", "deployment.alarm",
}

// Notification formats.
const (
	FormatJSON  = "json"  // CloudEvents-style JSON, signed with HMAC-SHA256
	FormatSlack = "slack" // Slack's incoming-webhook JSON
)

// DefaultNotifySecretEnv holds a json target's signing key unless the
// target names another variable.
const DefaultNotifySecretEnv = "CANARYFLOW_NOTIFY_SECRET"

// Notification is one target of the notifications list: where the daemon
// posts what happens, delivered at least once (persisted, retried with
// backoff). A change to the list applies at the next canaryflow up.
type Notification struct {
	// URL receives a POST per event: https, or http to a loopback host.
	URL string `yaml:"url"`
	// Format is json (zero) or slack.
	Format string `yaml:"format"`
	// Events are the kinds sent (NotificationEvents). Zero: all of them.
	Events []string `yaml:"events"`
	// SecretEnv names the environment variable holding a json target's
	// HMAC-SHA256 key (the signature is X-Canaryflow-Signature). Zero:
	// CANARYFLOW_NOTIFY_SECRET. The key is never written in the file.
	SecretEnv string `yaml:"secret_env"`
}

// String says the target without its URL's path, which is often its
// secret (a Slack webhook's is): the host and a digest of the whole URL,
// so a change of the path still shows as a change (SIGHUP's report).
func (n Notification) String() string {
	sum := sha256.Sum256([]byte(n.URL))
	return fmt.Sprintf("%s (url digest %x) %s %v", redactURL(n.URL), sum[:4], n.Format, n.Events)
}

// Wants reports whether the target asked for kind.
func (n Notification) Wants(kind string) bool { return slices.Contains(n.Events, kind) }

func (n *Notification) applyDefaults() {
	if n.Format == "" {
		n.Format = FormatJSON
	}
	if len(n.Events) == 0 {
		n.Events = slices.Clone(NotificationEvents)
	}
	if n.SecretEnv == "" && n.Format == FormatJSON {
		n.SecretEnv = DefaultNotifySecretEnv
	}
}

func validateNotifications(file string, data []byte, ns []Notification) []error {
	var errs []error
	for i := range ns {
		n := &ns[i]
		n.applyDefaults()
		add := func(field, format string, a ...any) {
			errs = append(errs, fieldError(file, data, fmt.Sprintf("notifications[%d].%s", i, field), format, a...))
		}
		u, err := url.Parse(n.URL)
		switch {
		case n.URL == "":
			add("url", "a notification target needs a url")
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			add("url", "%s: want an http(s) URL", redactURL(n.URL))
		case u.User != nil:
			add("url", "%s: no user or password in the URL", redactURL(n.URL))
		case u.Scheme == "http" && !loopback.IsHost(u.Hostname()):
			add("url", "%s: plain http only to this machine; use https", redactURL(n.URL))
		}
		switch n.Format {
		case FormatJSON, FormatSlack:
		default:
			add("format", "%q: want json or slack", n.Format)
		}
		for j, ev := range n.Events {
			if !slices.Contains(NotificationEvents, ev) {
				errs = append(errs, fieldError(file, data, fmt.Sprintf("notifications[%d].events[%d]", i, j),
					"%q: want one of %s", ev, strings.Join(NotificationEvents, ", ")))
			}
		}
		if n.SecretEnv != "" && !envVarName.MatchString(n.SecretEnv) {
			add("secret_env", "%q is not an environment variable name", n.SecretEnv)
		}
	}
	return errs
}

// redactURL keeps a URL's scheme and host: the path of a Slack webhook is
// its secret.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "the URL"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
