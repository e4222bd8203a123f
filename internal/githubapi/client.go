// Package githubapi is canaryflow's one way to GitHub's REST API, through
// google/go-github: the repository rulesets of `canaryflow protect`, the
// pull requests and Releases of the pull-request release path.
//
// Every failure comes back as one plain line that says what to do (see
// Error): a missing or refused token, missing admin rights, a plan without
// rulesets, a rate limit. No request is sent without a token, and the
// token is never printed.
package githubapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/google/go-github/v89/github"

	"github.com/canaryflow/canaryflow/internal/loopback"
)

// APIEnv overrides the API's base URL (GitHub Enterprise Server, or a
// test server). Zero means https://api.github.com/.
const APIEnv = "CANARYFLOW_GITHUB_API"

// Options say which repository to talk to and how.
type Options struct {
	Owner, Repo string
	// Token authenticates every request; see Token for where it comes from.
	Token string
	// BaseURL is the API's root; empty means $CANARYFLOW_GITHUB_API, else
	// GitHub's.
	BaseURL string
	// HTTPClient sends the requests; nil means one with a 30-second timeout.
	HTTPClient *http.Client
}

// Client talks to one repository.
type Client struct {
	gh          *github.Client
	owner, repo string
}

// ErrNoToken is returned where a request needs a token and none was found.
var ErrNoToken = errors.New("no GitHub token: set GITHUB_TOKEN or GH_TOKEN, or log in with `gh auth login`")

// New returns a client for o.Owner/o.Repo.
func New(o Options) (*Client, error) {
	if o.Token == "" {
		return nil, ErrNoToken
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	base := o.BaseURL
	if base == "" {
		base = os.Getenv(APIEnv)
	}
	opts := []github.ClientOptionsFunc{github.WithHTTPClient(hc), github.WithAuthToken(o.Token), github.WithUserAgent("canaryflow")}
	if base != "" {
		u, err := url.Parse(base)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback.IsHost(u.Host))) {
			return nil, fmt.Errorf("%s=%q: want an https URL (plain http only on loopback), so the token never crosses a network in the clear", APIEnv, base)
		}
		if !strings.HasSuffix(base, "/") {
			base += "/"
		}
		opts = append(opts, github.WithURLs(&base, &base))
	}
	gh, err := github.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("github client: %w", err)
	}
	return &Client{gh: gh, owner: o.Owner, repo: o.Repo}, nil
}

// Token finds a token the way gh and most tools do: $GITHUB_TOKEN, then
// $GH_TOKEN, then what `gh auth token` prints when gh is installed. ""
// means none.
func Token(ctx context.Context) string {
	for _, k := range []string{"GITHUB_TOKEN", "GH_TOKEN"} {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
	}
	if _, err := exec.LookPath("gh"); err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "gh", "auth", "token").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// Error is a GitHub failure in one line: what happened and what to do.
type Error struct {
	Status int // HTTP status; 0 when the request never got an answer
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// explain turns a go-github error into an *Error; doing names the
// operation ("list the rulesets of o/r").
func (c *Client) explain(doing string, err error) error {
	if err == nil {
		return nil
	}
	full := c.owner + "/" + c.repo
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return &Error{Status: statusOf(rl.Response), Msg: fmt.Sprintf("GitHub rate limit reached while trying to %s; it resets at %s: wait until then, or use another token",
			doing, rl.Rate.Reset.UTC().Format("15:04 MST"))}
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) {
		wait := "a minute"
		if abuse.RetryAfter != nil {
			wait = abuse.RetryAfter.String()
		}
		return &Error{Status: statusOf(abuse.Response), Msg: fmt.Sprintf("GitHub's secondary rate limit stopped the request to %s: wait %s and run it again", doing, wait)}
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) {
		status := statusOf(er.Response)
		msg := strings.TrimSpace(er.Message)
		switch {
		case status == http.StatusUnauthorized:
			return &Error{Status: status, Msg: fmt.Sprintf("GitHub refused the token (401 %s) trying to %s: set GITHUB_TOKEN to a valid token (classic: repo scope; fine-grained: Administration and Contents write on %s)", msg, doing, full)}
		case status == http.StatusForbidden && strings.Contains(strings.ToLower(msg), "upgrade"):
			return &Error{Status: status, Msg: fmt.Sprintf("%s's plan has no rulesets for it (403 %s): make the repository public, or move it to GitHub Pro, Team or Enterprise", full, msg)}
		case status == http.StatusForbidden:
			return &Error{Status: status, Msg: fmt.Sprintf("GitHub forbade the request to %s (403 %s): the token needs admin rights on %s (fine-grained: Administration write)", doing, msg, full)}
		case status == http.StatusNotFound:
			return &Error{Status: status, Msg: fmt.Sprintf("GitHub answered 404 trying to %s: %s does not exist, or the token cannot see it (check the remote URL and the token's repository access)", doing, full)}
		case status == http.StatusUnprocessableEntity:
			detail := msg
			for _, e := range er.Errors {
				if e.Message != "" {
					detail += "; " + e.Message
				} else if e.Field != "" {
					detail += fmt.Sprintf("; %s %s", e.Field, e.Code)
				}
			}
			return &Error{Status: status, Msg: fmt.Sprintf("GitHub refused to %s (422 %s): fix the cause above (for a pull request: is there one already, and does the branch exist on GitHub?)", doing, detail)}
		}
		return &Error{Status: status, Msg: fmt.Sprintf("GitHub answered %d trying to %s: %s", status, doing, msg)}
	}
	return &Error{Msg: fmt.Sprintf("could not reach GitHub to %s: %v", doing, err)}
}

func statusOf(r *http.Response) int {
	if r == nil {
		return 0
	}
	return r.StatusCode
}

// RequireAdmin checks the token may change the repository's rulesets.
func (c *Client) RequireAdmin(ctx context.Context) error {
	r, _, err := c.gh.Repositories.Get(ctx, c.owner, c.repo)
	if err != nil {
		return c.explain("read "+c.owner+"/"+c.repo, err)
	}
	if p := r.GetPermissions(); p == nil || !p.GetAdmin() {
		return &Error{Status: http.StatusForbidden, Msg: fmt.Sprintf("the token has no admin rights on %s/%s, which rulesets need: ask an admin to run canaryflow protect, or use an admin's token", c.owner, c.repo)}
	}
	return nil
}
