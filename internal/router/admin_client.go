package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// AdminClient calls a router's admin endpoint, over a Unix socket or TCP.
// Its methods mirror the Router's; errors carry the router's message.
type AdminClient struct {
	base  string // http://host:port, or http://localhost for a socket
	token string
	hc    *http.Client
}

// NewAdminClient returns a client for the admin endpoint at addr: a path
// to a Unix socket (starting with "/" or "unix:"), or host:port.
func NewAdminClient(addr, token string) *AdminClient {
	tr := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}
	base := "http://" + addr
	if path, ok := SocketPath(addr); ok {
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "unix", path) }
		base = "http://localhost"
	}
	return &AdminClient{base: base, token: token, hc: &http.Client{Transport: tr}}
}

// SocketPath reports whether addr names a Unix socket ("unix:/path" or an
// absolute path) and returns the path.
func SocketPath(addr string) (string, bool) {
	if len(addr) > 5 && addr[:5] == "unix:" {
		return addr[5:], true
	}
	return addr, len(addr) > 0 && addr[0] == '/'
}

// Close frees the client's idle connections.
func (c *AdminClient) Close() { c.hc.CloseIdleConnections() }

// State reads the router's target groups and routing.
func (c *AdminClient) State(ctx context.Context) (State, error) {
	var s State
	return s, c.do(ctx, http.MethodGet, "/state", nil, &s)
}

// Routing reads the listeners' binding.
func (c *AdminClient) Routing(ctx context.Context) (Routing, error) {
	var r Routing
	return r, c.do(ctx, http.MethodGet, "/routing", nil, &r)
}

// Route changes the fields of the binding that req gives, in one change.
func (c *AdminClient) Route(ctx context.Context, req RoutingRequest) (Routing, error) {
	var r Routing
	return r, c.do(ctx, http.MethodPut, "/routing", req, &r)
}

// SetGroup makes the target group hold exactly targets.
func (c *AdminClient) SetGroup(ctx context.Context, name string, targets []string) error {
	if targets == nil {
		targets = []string{}
	}
	return c.do(ctx, http.MethodPut, "/groups/"+url.PathEscape(name), GroupRequest{Targets: targets}, nil)
}

// Group reads one target group; ok is false when the router has none of
// that name.
func (c *AdminClient) Group(ctx context.Context, name string) (s GroupSnapshot, ok bool, err error) {
	err = c.do(ctx, http.MethodGet, "/groups/"+url.PathEscape(name), nil, &s)
	if errors.Is(err, ErrUnknownGroup) {
		return GroupSnapshot{}, false, nil
	}
	return s, err == nil, err
}

// RemoveGroup drains the target group and forgets it; it returns once the
// last target is gone.
func (c *AdminClient) RemoveGroup(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/groups/"+url.PathEscape(name)+"?wait=1", nil, nil)
}

// Snapshot reads every group, target and counter.
func (c *AdminClient) Snapshot(ctx context.Context) (Snapshot, error) {
	var s Snapshot
	return s, c.do(ctx, http.MethodGet, "/snapshot", nil, &s)
}

// Get reads path (an endpoint served beside the router's, such as the
// process information canaryflow-proxy adds) into out.
func (c *AdminClient) Get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}

// Post sends in to path (an endpoint served beside the router's) and
// reads the answer into out.
func (c *AdminClient) Post(ctx context.Context, path string, in, out any) error {
	return c.do(ctx, http.MethodPost, path, in, out)
}

// do sends one request. A 404 of a group becomes ErrUnknownGroup, a 409
// ErrGroupInUse, so callers can test for them.
func (c *AdminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json") // the admin guard's rule for every write
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("router admin %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("router admin %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e errorBody
		msg := string(bytes.TrimSpace(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		err := fmt.Errorf("router admin %s %s: %s: %s", method, path, resp.Status, msg)
		switch resp.StatusCode {
		case http.StatusNotFound:
			err = fmt.Errorf("%w (%w)", err, ErrUnknownGroup)
		case http.StatusConflict:
			err = fmt.Errorf("%w (%w)", err, ErrGroupInUse)
		}
		return err
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("router admin %s %s: decode: %w", method, path, err)
		}
	}
	return nil
}
