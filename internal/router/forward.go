package router

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// StatusClientClosedRequest is nginx's code for a request the client gave up
// on; it is logged and counted, never sent.
const StatusClientClosedRequest = 499

// errUpstreamBroken is returned when a reused connection fails before any
// response byte: the target may have closed it while idle.
var errUpstreamBroken = errors.New("upstream connection closed before response")

// forwardResult says how one attempt ended.
type forwardResult struct {
	status int // status sent (or 499 logged); 0 if nothing was sent and the attempt may be retried
	err    error
	// retry is set when nothing reached the client and the request may be
	// sent again: a dial error, or a broken reused connection for a
	// request without a body.
	retry bool
	// fresh asks the retry to dial instead of reusing an idle connection.
	fresh bool
	// abort is set when the response broke off after its header was sent:
	// the client's connection must be cut so it sees an incomplete answer.
	abort bool
	// sent is set once the handler has answered the client itself.
	sent bool
}

// hopHeaders are removed in both directions (RFC 9110 section 7.6.1).
func isHopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// forward sends r to t over a pooled HTTP/1.1 connection and copies the
// response to w. It is the common path: no upgrade, any inbound protocol.
func (rt *Router) forward(w http.ResponseWriter, r *http.Request, t *target, fresh bool, setCookie string) forwardResult {
	ctx := r.Context()
	uc, err := t.pool.get(ctx, fresh)
	if err != nil {
		if ctx.Err() != nil {
			return forwardResult{status: StatusClientClosedRequest, err: err}
		}
		t.stats.upstreamErrors.Add(1)
		t.group.stats.upstreamErrors.Add(1)
		return forwardResult{err: err, retry: true}
	}
	// A cancelled client (or router shutdown) interrupts the upstream I/O;
	// the target sees its connection close.
	stop := context.AfterFunc(ctx, uc.poison)
	res, reusable := rt.exchange(w, r, t, uc, setCookie)
	if !stop() {
		reusable = false
	}
	if uc.br != nil {
		// Empty when reusable: exchange checked it.
		rt.bufs.putReader(uc.br)
		uc.br = nil
	}
	if reusable {
		t.pool.put(uc)
	} else {
		t.pool.discard(uc)
	}
	if res.err != nil && res.status != StatusClientClosedRequest && !t.expired.Load() && !res.fresh {
		// A stale keep-alive connection retried on a fresh one is not a
		// target error.
		t.stats.upstreamErrors.Add(1)
		t.group.stats.upstreamErrors.Add(1)
	}
	return res
}

// poison makes every pending and future I/O on uc fail at once.
func (uc *upConn) poison() { _ = uc.nc.SetDeadline(time.Unix(1, 0)) }

// armResponseDeadline makes a read on uc wait at least timeout and at most
// an eighth longer. The deadline stays set after a response whose body was
// already read with its head, and is moved only when it would fall short,
// so most requests on a busy connection set none.
func (uc *upConn) armResponseDeadline(ctx context.Context, timeout time.Duration) {
	now := time.Now()
	if uc.deadline.Sub(now) >= timeout {
		return
	}
	uc.deadline = now.Add(timeout + timeout/8)
	uc.setReadDeadline(ctx, uc.deadline)
}

// setReadDeadline sets the read deadline without undoing a poison by a
// client cancellation that raced with it.
func (uc *upConn) setReadDeadline(ctx context.Context, d time.Time) {
	_ = uc.nc.SetReadDeadline(d)
	if ctx.Err() != nil {
		uc.poison()
	}
}

// exchange writes the request and relays the response on uc. It reports
// whether uc can carry another request.
func (rt *Router) exchange(w http.ResponseWriter, r *http.Request, t *target, uc *upConn, setCookie string) (forwardResult, bool) {
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	bw := rt.bufs.writer(uc.rw)
	if res, ok := rt.writeRequest(bw, r, t, uc, hasBody); !ok {
		rt.bufs.putWriter(bw)
		return res, false
	}

	timeout := rt.opts.ResponseTimeout
	if timeout > 0 {
		uc.armResponseDeadline(r.Context(), timeout)
	}
	// The end of the request goes out as the wait for its answer begins.
	resp, sendErr, err := uc.sendAndReadResponse(r, &rt.bufs, bw)
	if sendErr != nil {
		return rt.failed(r, t, uc, fmt.Errorf("send request: %w", sendErr), hasBody), false
	}
	if err != nil {
		return rt.failed(r, t, uc, fmt.Errorf("read response: %w", err), hasBody), false
	}
	if !uc.deadline.IsZero() && (resp != &uc.resp || uc.body.remaining > int64(uc.br.Buffered())) {
		// The body takes more reads: it has no deadline.
		uc.deadline = time.Time{}
		uc.setReadDeadline(r.Context(), uc.deadline)
	}
	res, reusable := rt.relayResponse(w, r, t, resp, setCookie)
	if reusable && uc.br.Buffered() > 0 {
		// More bytes came with the response than it holds: an answer
		// nobody asked for, which must not reach the next client.
		rt.warnUnasked(t, uc.br.Buffered())
		reusable = false
	}
	return res, reusable
}

// warnUnasked logs bytes a target sent after its response, out of
// exchange's frame (see answerFailed).
func (rt *Router) warnUnasked(t *target, n int) {
	rt.log.Warn("target sent bytes after its response; connection closed", "group", t.group.name, "target", t.key, "bytes", n)
}

// writeRequest writes r's head and body to uc through bw, leaving the
// last of it in bw for sendAndReadResponse to send. ok is false, with the
// result to give, when that failed.
func (rt *Router) writeRequest(bw *bufio.Writer, r *http.Request, t *target, uc *upConn, hasBody bool) (res forwardResult, ok bool) {
	if err := writeRequestHead(bw, r, hasBody, rt.viaLine); err != nil {
		return rt.failed(r, t, uc, fmt.Errorf("write request head: %w", err), hasBody), false
	}
	if hasBody {
		if err := rt.writeBody(bw, r); err != nil {
			if rerr := r.Context().Err(); rerr == nil && !t.expired.Load() {
				var be *bodyReadError
				if errors.As(err, &be) {
					// The client's body broke off: nothing to answer.
					return forwardResult{status: http.StatusBadRequest, err: err}, false
				}
			}
			return rt.failed(r, t, uc, fmt.Errorf("write request body: %w", err), true), false
		}
	}
	return forwardResult{}, true
}

// failed turns an error before any response byte reached the client into a
// result: 499 for a gone client, 504 for a drain that ran out, a retry for a
// broken reused connection carrying no body, else 502.
func (rt *Router) failed(r *http.Request, t *target, uc *upConn, err error, sentBody bool) forwardResult {
	switch {
	case r.Context().Err() != nil:
		return forwardResult{status: StatusClientClosedRequest, err: err}
	case t.expired.Load():
		return forwardResult{status: http.StatusGatewayTimeout, err: err}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return forwardResult{status: http.StatusGatewayTimeout, err: fmt.Errorf("no response within %s: %w", rt.opts.ResponseTimeout, err)}
	case uc.reused && !sentBody && isIdempotent(r.Method):
		return forwardResult{err: fmt.Errorf("%w: %w", errUpstreamBroken, err), retry: true, fresh: true}
	}
	return forwardResult{status: http.StatusBadGateway, err: err}
}

func isIdempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// sendAndReadResponse sends what bw holds of the request to r, gives bw
// back to cb, and reads the response: with parseResponseHead when the
// whole head has arrived and is in the common form, else with net/http.
// It waits for the first byte before it takes a read buffer from cb, which
// uc then holds until its owner gives it back. sendErr is a failure to
// send, err one to read.
func (uc *upConn) sendAndReadResponse(r *http.Request, cb *connBuffers, bw *bufio.Writer) (resp *http.Response, sendErr, err error) {
	uc.br, sendErr, err = cb.sendThenFill(uc.rw, bw)
	if sendErr != nil {
		return nil, sendErr, nil
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // what http.ReadResponse says
		}
		return nil, nil, err
	}
	if r.Method != http.MethodHead {
		buf, _ := uc.br.Peek(uc.br.Buffered())
		if uc.header == nil {
			uc.header = make(http.Header, 8)
		}
		clear(uc.header)
		if end := scanHead(buf); end > 0 && parseResponseHead(buf[:end], &uc.resp, uc.header) {
			_, _ = uc.br.Discard(end)
			uc.body = fixedBody{br: uc.br, remaining: uc.resp.ContentLength}
			uc.resp.Body = &uc.body
			uc.resp.Request = r
			return &uc.resp, nil, nil
		}
	}
	resp, err = readFinalResponse(uc.br, r)
	return resp, nil, err
}

// readFinalResponse reads the next final response with net/http, skipping
// 1xx interim ones.
func readFinalResponse(br *bufio.Reader, r *http.Request) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, r)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
		_ = resp.Body.Close()
	}
}

// relayResponse copies resp to the client, flushing at once when the
// response is streamed (unknown length, e.g. server-sent events).
func (rt *Router) relayResponse(w http.ResponseWriter, r *http.Request, t *target, resp *http.Response, setCookie string) (forwardResult, bool) {
	h := w.Header()
	conn := resp.Header["Connection"]
	for k, vv := range resp.Header {
		if isHopHeader(k) || (len(conn) > 0 && listedIn(conn, k)) {
			continue
		}
		h[k] = vv
	}
	if setCookie != "" {
		h.Add("Set-Cookie", setCookie)
	}
	if len(resp.Trailer) > 0 {
		announceTrailers(h, resp.Trailer)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// Only reached when a target switches protocols unasked.
		_ = resp.Body.Close()
		return forwardResult{status: http.StatusBadGateway, err: errors.New("unexpected 101 from target")}, false
	}
	w.WriteHeader(resp.StatusCode)
	res := forwardResult{status: resp.StatusCode}

	if err := rt.copyResponseBody(w, resp); err != nil {
		_ = resp.Body.Close()
		return relayFailed(r, t, resp.StatusCode, err), false
	}
	_ = resp.Body.Close()
	for k, vv := range resp.Trailer {
		h[http.TrailerPrefix+k] = vv
	}
	return res, !resp.Close
}

// announceTrailers declares the trailer fields a response will carry. It
// and relayFailed are kept out of relayResponse's frame (see
// answerFailed).
func announceTrailers(h http.Header, trailer http.Header) {
	keys := make([]string, 0, len(trailer))
	for k := range trailer {
		keys = append(keys, k)
	}
	h["Trailer"] = []string{strings.Join(keys, ", ")}
}

// relayFailed is the result of a response whose body broke off after its
// header went out: the client's answer is aborted so it sees a cut.
func relayFailed(r *http.Request, t *target, status int, err error) forwardResult {
	res := forwardResult{status: status, err: err, abort: true}
	var cw *clientWriteError
	switch {
	case r.Context().Err() != nil || errors.As(err, &cw):
		res.status = StatusClientClosedRequest
	case t.expired.Load():
		res.status = http.StatusGatewayTimeout
	}
	return res
}

// copyResponseBody relays resp's body to w. A body that came whole with
// its head (nearly every short answer) is written from the connection's
// read buffer; any other is copied through a buffer from rt.buffers.
func (rt *Router) copyResponseBody(w http.ResponseWriter, resp *http.Response) error {
	if fb, ok := resp.Body.(*fixedBody); ok && fb.remaining <= int64(fb.br.Buffered()) {
		if fb.remaining <= 0 {
			return nil
		}
		b, _ := fb.br.Peek(int(fb.remaining))
		_, _ = fb.br.Discard(len(b))
		fb.remaining = 0
		if _, err := w.Write(b); err != nil {
			return &clientWriteError{err: err}
		}
		return nil
	}
	return rt.copyResponseBodyBuffered(w, resp)
}

// copyResponseBodyBuffered relays a body that takes more reads, through a
// copy buffer; it is kept out of copyResponseBody's frame, which is on the
// path of every short answer (see answerFailed).
func (rt *Router) copyResponseBodyBuffered(w http.ResponseWriter, resp *http.Response) error {
	bufp := rt.buffers.Get().(*[]byte)
	defer rt.buffers.Put(bufp)
	return copyBody(w, resp.Body, *bufp, resp.ContentLength < 0)
}

// copyBody relays src to w, flushing after every read when streaming.
func copyBody(w http.ResponseWriter, src io.Reader, buf []byte, streaming bool) error {
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return &clientWriteError{err: werr}
			}
			if streaming {
				if err := http.NewResponseController(w).Flush(); err != nil {
					return &clientWriteError{err: err}
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// clientWriteError marks a failure writing to the client.
type clientWriteError struct{ err error }

func (e *clientWriteError) Error() string { return "write to client: " + e.err.Error() }
func (e *clientWriteError) Unwrap() error { return e.err }
