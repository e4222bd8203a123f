package githubapi

import (
	"context"
	"fmt"

	"github.com/google/go-github/v89/github"
)

// OpenPullRequest opens a pull request merging head into base and returns
// its address (flow.Host).
func (c *Client) OpenPullRequest(ctx context.Context, head, base, title, body string) (string, error) {
	pr, _, err := c.gh.PullRequests.Create(ctx, c.owner, c.repo, &github.NewPullRequest{
		Title: github.Ptr(title), Head: github.Ptr(head), Base: github.Ptr(base), Body: github.Ptr(body),
	})
	if err != nil {
		return "", c.explain(fmt.Sprintf("open the pull request %s → %s on %s/%s", head, base, c.owner, c.repo), err)
	}
	return pr.GetHTMLURL(), nil
}

// CreateRelease publishes the GitHub Release of an existing tag with the
// notes as its body (flow.Host).
func (c *Client) CreateRelease(ctx context.Context, tag, title, notes string) (string, error) {
	rel, _, err := c.gh.Repositories.CreateRelease(ctx, c.owner, c.repo, github.CreateReleaseRequest{
		TagName: tag, Name: github.Ptr(title), Body: github.Ptr(notes),
	})
	if err != nil {
		return "", c.explain(fmt.Sprintf("create the release of %s on %s/%s", tag, c.owner, c.repo), err)
	}
	return rel.GetHTMLURL(), nil
}

// Protected reports whether a pull request is required to change branch:
// a ruleset's pull_request rule applies to it (flow.Host).
func (c *Client) Protected(ctx context.Context, branch string) (bool, error) {
	rules, _, err := c.gh.Repositories.ListRulesForBranch(ctx, c.owner, c.repo, branch, nil)
	if err != nil {
		return false, c.explain(fmt.Sprintf("read the rules of %s on %s/%s", branch, c.owner, c.repo), err)
	}
	return rules != nil && len(rules.PullRequest) > 0, nil
}
