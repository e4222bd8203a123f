package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/canaryflow/canaryflow/internal/dashboard"
	"github.com/canaryflow/canaryflow/internal/deploy"
	eventstream "github.com/canaryflow/canaryflow/internal/events"
)

// Client talks to a running daemon's API.
type Client struct {
	// Addr is host:port of the API.
	Addr string
	// Token is sent as a bearer token; the daemon refuses requests
	// without it.
	Token string
	// HTTP sends the requests; zero means http.DefaultClient.
	HTTP *http.Client
}

// APIError is an error answer from the daemon.
type APIError struct {
	Status int
	Msg    string
}

func (e *APIError) Error() string { return e.Msg }

// ExitCode maps the answer to the CLI's exit codes: a refused request (bad
// input, a wrong token) is 2, a state that refuses it now (a deployment in
// progress) 3, something that does not exist 4.
func (e *APIError) ExitCode() int {
	switch e.Status {
	case http.StatusBadRequest, http.StatusUnauthorized,
		http.StatusForbidden, http.StatusUnsupportedMediaType, http.StatusMisdirectedRequest:
		return 2
	case http.StatusConflict:
		return 3
	case http.StatusNotFound:
		return 4
	}
	return 1
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	u := url.URL{Scheme: "http", Host: c.Addr, Path: path}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	if in != nil || method != http.MethodGet {
		// The daemon refuses a request that changes state unless it is
		// declared JSON, body or not.
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("canaryflow daemon at %s: %w", c.Addr, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = fmt.Sprintf("%s %s: %s", method, path, resp.Status)
		}
		return &APIError{Status: resp.StatusCode, Msg: eb.Error}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// Create starts a deployment.
func (c *Client) Create(ctx context.Context, req CreateRequest) (*deploy.Deployment, error) {
	var d deploy.Deployment
	return &d, c.do(ctx, http.MethodPost, "/v1/deployments", req, &d)
}

// List returns the deployments, oldest first.
func (c *Client) List(ctx context.Context) ([]deploy.Deployment, error) {
	var ds []deploy.Deployment
	return ds, c.do(ctx, http.MethodGet, "/v1/deployments", nil, &ds)
}

// Get returns a deployment with its events; id "latest" is the newest.
func (c *Client) Get(ctx context.Context, id string) (*DeploymentView, error) {
	var v DeploymentView
	return &v, c.do(ctx, http.MethodGet, "/v1/deployments/"+url.PathEscape(id), nil, &v)
}

// Approve continues a deployment in its ready wait.
func (c *Client) Approve(ctx context.Context, id string) (*DeploymentView, error) {
	var v DeploymentView
	return &v, c.do(ctx, http.MethodPost, "/v1/deployments/"+url.PathEscape(id)+"/approve", nil, &v)
}

// Stop stops a deployment, with or without rollback.
func (c *Client) Stop(ctx context.Context, id string, rollback bool) (*DeploymentView, error) {
	var v DeploymentView
	return &v, c.do(ctx, http.MethodPost, "/v1/deployments/"+url.PathEscape(id)+"/stop", StopRequest{Rollback: rollback}, &v)
}

// Rollback returns the service to its previous good revision.
func (c *Client) Rollback(ctx context.Context) (*deploy.Deployment, error) {
	var d deploy.Deployment
	return &d, c.do(ctx, http.MethodPost, "/v1/rollback", nil, &d)
}

// Promote moves all of a deployment's production traffic to green now.
func (c *Client) Promote(ctx context.Context, id string) (*DeploymentView, error) {
	var v DeploymentView
	return &v, c.do(ctx, http.MethodPost, "/v1/deployments/"+url.PathEscape(id)+"/promote", nil, &v)
}

// RollbackTo deploys the service's revision of version, all at once.
func (c *Client) RollbackTo(ctx context.Context, version string) (*deploy.Deployment, error) {
	var d deploy.Deployment
	return &d, c.do(ctx, http.MethodPost, "/v1/rollback", RollbackRequest{To: version}, &d)
}

// DashboardLink asks for a one-time sign-in link to the dashboard and
// returns its path and query, to put after the API's address.
func (c *Client) DashboardLink(ctx context.Context) (string, error) {
	var l dashboard.Link
	return l.Path, c.do(ctx, http.MethodPost, "/v1/dashboard/login", nil, &l)
}

// Status returns the services and the router's split.
func (c *Client) Status(ctx context.Context) (*StatusView, error) {
	var v StatusView
	return &v, c.do(ctx, http.MethodGet, "/v1/status", nil, &v)
}

// IsNotFound reports whether err is the daemon's 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// Events subscribes to the daemon's event stream (GET /v1/events), from
// after lastID when it is not "". The stream lasts until ctx ends or the
// daemon stops; close the returned body when done.
func (c *Client) Events(ctx context.Context, lastID string) (*eventstream.Decoder, io.Closer, error) {
	h := http.Header{"Accept": {"text/event-stream"}}
	if lastID != "" {
		h.Set("Last-Event-ID", lastID)
	}
	body, err := c.stream(ctx, url.URL{Scheme: "http", Host: c.Addr, Path: "/v1/events"}, "GET /v1/events", h)
	if err != nil {
		return nil, nil, err
	}
	return eventstream.NewDecoder(body), body, nil
}
