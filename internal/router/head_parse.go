package router

import (
	"bufio"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// The fast path's own head parsers. net/http's parsers read line by line
// through textproto and allocate a dozen times per message; these take a
// complete head that scanHead has already found strictly framed, make one
// string of it and cut every field out of that string.
//
// They accept only a narrow, common form and decline everything else, and
// declining is always safe: the caller then parses the same bytes with
// net/http (http.ReadRequest, http.ReadResponse) as before. Where they
// accept, they must produce exactly what net/http would; the fuzz targets
// FuzzRequestHeadMatchesNetHTTP and FuzzResponseHeadMatchesNetHTTP check
// that on every input.

// parseRequestHead parses an HTTP/1.1 request head with an origin-form
// target, one Host and at most one Content-Length, and no
// Transfer-Encoding, into req; ok is false when the head is left to
// http.ReadRequest. The caller passes req zeroed but for its context, an
// empty map for the header and a URL to fill for plain targets, all of
// which it may reuse for the next request once this one is answered.
func parseRequestHead(head []byte, req *http.Request, h http.Header, u *url.URL, strs []string) (ok bool) {
	s := string(head)
	line, fields, _ := strings.Cut(s, "\r\n")
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" || !validToken(method) || method == http.MethodConnect ||
		target == "" || target[0] != '/' || !visibleASCII(target) {
		return false
	}
	if !parseFields(fields, h, strs) {
		return false
	}
	hosts := h["Host"]
	if len(hosts) != 1 || h["Transfer-Encoding"] != nil {
		return false
	}
	var n int64
	if cl := h["Content-Length"]; cl != nil {
		if n, ok = parseLength(cl); !ok {
			return false
		}
	}
	if !parsePlainTarget(target, u) {
		var err error
		if u, err = url.ParseRequestURI(target); err != nil {
			return false
		}
	}
	delete(h, "Host") // net/http keeps it only in Request.Host
	fixPragma(h)
	req.Method = method
	req.URL = u
	req.Proto, req.ProtoMajor, req.ProtoMinor = proto, 1, 1
	req.Header = h
	req.Body = http.NoBody
	req.ContentLength = n
	req.Close = hasToken(h["Connection"], "close")
	req.Host = hosts[0]
	req.RequestURI = target
	return true
}

// parsePlainTarget fills u as url.ParseRequestURI would for a target whose
// path has no byte that needs escaping or unescaping; it reports false for
// any other target.
func parsePlainTarget(target string, u *url.URL) bool {
	path, query, hasQuery := strings.Cut(target, "?")
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~$&+,/:;=@", c) >= 0:
		default:
			return false
		}
	}
	*u = url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}
	return true
}

// parseResponseHead parses an HTTP/1.1 response head with a final status
// that carries a body framed by one Content-Length into resp (Header,
// status, length, Close). ok is false when the head is left to
// http.ReadResponse: informational and bodiless statuses, chunked or
// close-delimited bodies, other protocol versions. The caller declines
// answers to HEAD, whose length says nothing about the bytes that follow,
// and passes an empty map for the header, which it may reuse once the
// response is relayed (the value slices go to the client's header).
func parseResponseHead(head []byte, resp *http.Response, h http.Header) (ok bool) {
	s := string(head)
	line, fields, _ := strings.Cut(s, "\r\n")
	if len(line) < len("HTTP/1.1 200") || line[:9] != "HTTP/1.1 " || len(line) > 12 && line[12] != ' ' {
		return false
	}
	code := 0
	for _, c := range []byte(line[9:12]) {
		if c < '0' || c > '9' {
			return false
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		return false
	}
	if !parseFields(fields, h, nil) || h["Transfer-Encoding"] != nil {
		return false
	}
	cl := h["Content-Length"]
	if cl == nil {
		return false
	}
	n, ok := parseLength(cl)
	if !ok {
		return false
	}
	fixPragma(h)
	closing := hasToken(h["Connection"], "close")
	if closing {
		delete(h, "Connection") // as net/http does for a response
	}
	*resp = http.Response{
		Status:        line[9:],
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: n,
		Close:         closing,
	}
	return true
}

// parseFields parses header lines, each ending in CRLF and the last one
// empty, into h as textproto.ReadMIMEHeader does: names canonicalized,
// values trimmed of spaces and tabs. Single values are cut from strs when
// it is long enough. It declines names that are not tokens and values with
// any byte outside printable ASCII and tab.
func parseFields(s string, h http.Header, strs []string) bool {
	if n := strings.Count(s, "\r\n") - 1; len(strs) < n {
		strs = make([]string, n)
	}
	for {
		line, rest, ok := strings.Cut(s, "\r\n")
		if !ok {
			return false
		}
		if line == "" {
			return rest == ""
		}
		s = rest
		name, value, ok := strings.Cut(line, ":")
		if !ok || !validToken(name) {
			return false
		}
		for i := 0; i < len(value); i++ {
			if c := value[i]; c < ' ' && c != '\t' || c >= 0x7f {
				return false
			}
		}
		value = strings.Trim(value, " \t")
		name = textproto.CanonicalMIMEHeaderKey(name)
		if vv := h[name]; vv != nil {
			h[name] = append(vv, value)
			continue
		}
		vv := strs[:1:1]
		strs = strs[1:]
		vv[0] = value
		h[name] = vv
	}
}

// parseLength reads the one Content-Length value: decimal digits only, and
// declines repeated fields (net/http merges equal ones).
func parseLength(vv []string) (int64, bool) {
	if len(vv) != 1 || vv[0] == "" || len(vv[0]) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range []byte(vv[0]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// fixPragma is net/http's rule for HTTP/1.0 caches: "Pragma: no-cache"
// without Cache-Control also means "Cache-Control: no-cache".
func fixPragma(h http.Header) {
	if p := h["Pragma"]; len(p) > 0 && p[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}
}

// hasToken reports whether the comma-separated values hold token,
// case-insensitively.
func hasToken(vv []string, token string) bool {
	for _, v := range vv {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.Trim(f, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// visibleASCII reports whether s is printable ASCII without spaces.
func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// fixedBody is a response body of known length read from an upstream
// connection; one is reused for every response on that connection.
type fixedBody struct {
	br        *bufio.Reader
	remaining int64
}

func (b *fixedBody) Read(p []byte) (int, error) {
	if b.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.br.Read(p)
	b.remaining -= int64(n)
	switch {
	case b.remaining == 0:
		return n, io.EOF
	case err == io.EOF:
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *fixedBody) Close() error { return nil }
