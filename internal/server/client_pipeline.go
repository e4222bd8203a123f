package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/canaryflow/canaryflow/internal/pipeline"
)

// Executions lists pipeline executions, newest first.
func (c *Client) Executions(ctx context.Context) ([]pipeline.Execution, error) {
	var es []pipeline.Execution
	return es, c.do(ctx, http.MethodGet, "/v1/executions", nil, &es)
}

// Execution returns one pipeline execution.
func (c *Client) Execution(ctx context.Context, id string) (*pipeline.Execution, error) {
	var e pipeline.Execution
	return &e, c.do(ctx, http.MethodGet, "/v1/executions/"+url.PathEscape(id), nil, &e)
}

// StartExecution runs the pipeline for a tag; started is false when an
// execution of that tag was already in progress or had succeeded.
func (c *Client) StartExecution(ctx context.Context, tag string) (e *pipeline.Execution, err error) {
	e = &pipeline.Execution{}
	return e, c.do(ctx, http.MethodPost, "/v1/executions", map[string]string{"tag": tag}, e)
}

// ExecutionLogs streams an execution's log; with follow it lasts until the
// execution ends.
func (c *Client) ExecutionLogs(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	u := url.URL{Scheme: "http", Host: c.Addr, Path: "/v1/executions/" + url.PathEscape(id) + "/logs"}
	if follow {
		u.RawQuery = "follow=1"
	}
	return c.stream(ctx, u, "execution "+id, nil)
}

// stream opens a long GET (a followed log, the event stream) and returns
// its body; an answer other than 200 is an *APIError named what.
func (c *Client) stream(ctx context.Context, u url.URL, what string, header http.Header) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
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
		return nil, fmt.Errorf("canaryflow daemon at %s: %w", c.Addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg := fmt.Sprintf("%s: %s", what, resp.Status)
		var eb ErrorBody
		if data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10)); err == nil && json.Unmarshal(data, &eb) == nil && eb.Error != "" {
			msg = fmt.Sprintf("%s: %s", what, eb.Error)
		}
		return nil, &APIError{Status: resp.StatusCode, Msg: msg}
	}
	return resp.Body, nil
}
