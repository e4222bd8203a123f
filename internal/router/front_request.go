package router

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
)

// scanHead finds the end of the request head at the start of buf. It
// returns the head's length including the blank line that ends it, 0 when
// buf holds only part of a head, or -1 when the head is not in the strict
// form the fast path accepts: every line ends in CRLF, no bare CR or LF, no
// NUL, and no line folding. A head that is not strict goes to net/http,
// which either accepts it or answers 400, so the fast path never frames a
// request differently from net/http.
func scanHead(buf []byte) int {
	for i := 0; i < len(buf); {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			rest := buf[i:]
			if bytes.IndexByte(rest, 0) >= 0 {
				return -1
			}
			if cr := bytes.IndexByte(rest, '\r'); cr >= 0 && cr != len(rest)-1 {
				return -1
			}
			return 0
		}
		line := buf[i : i+j] // without its LF
		if j == 0 || line[j-1] != '\r' || bytes.IndexByte(line[:j-1], '\r') >= 0 || bytes.IndexByte(line, 0) >= 0 {
			return -1 // bare LF, bare CR or NUL
		}
		if i > 0 && (line[0] == ' ' || line[0] == '\t') {
			return -1 // obsolete line folding
		}
		first := i == 0
		i += j + 1
		if j == 1 { // the blank line
			if first {
				return -1 // empty line before the request line
			}
			return i
		}
	}
	return 0
}

// parseHead parses a complete, strictly framed head, with parseRequestHead
// when it takes the head and else with net/http's own request parser, and
// reports whether the request may take the fast path.
// Anything else (HTTP/1.0 and HTTP/2, upgrades, chunked or unknown-length
// bodies, Expect, absolute-form targets, suspicious header bytes) returns
// false and the connection is handed to net/http with its bytes intact.
func (c *frontConn) parseHead(head []byte) (*http.Request, bool) {
	clear(c.header)
	c.req = c.blank
	if parseRequestHead(head, &c.req, c.header, &c.url, c.strs) {
		return &c.req, fastEligible(&c.req)
	}
	// The head's size is all the buffer net/http needs (the rarer path: a
	// head parseRequestHead declines).
	src := bytes.NewReader(head)
	br := bufio.NewReaderSize(src, len(head))
	req, err := http.ReadRequest(br)
	if err != nil || src.Len() != 0 || br.Buffered() != 0 {
		return nil, false
	}
	return req.WithContext(c.ctx), fastEligible(req)
}

// fastEligible reports whether req is simple enough for the fast path.
func fastEligible(req *http.Request) bool {
	if req.ProtoMajor != 1 || req.ProtoMinor != 1 || req.Method == http.MethodConnect {
		return false
	}
	if req.RequestURI == "" || req.RequestURI[0] != '/' || req.URL == nil || req.URL.Host != "" {
		return false
	}
	if len(req.TransferEncoding) != 0 || req.ContentLength < 0 || !validHost(req.Host) {
		return false
	}
	for k, vv := range req.Header {
		switch k {
		case "Transfer-Encoding", "Upgrade", "Expect", "Http2-Settings", "Te":
			return false
		case "Content-Length":
			if len(vv) != 1 {
				return false
			}
		}
		if !validToken(k) {
			return false
		}
		for _, v := range vv {
			if !validFieldValue(v) {
				return false
			}
		}
	}
	return true
}

// validHost accepts the host[:port] forms a client sends: names, IPv4 and
// bracketed IPv6 addresses. It is stricter than net/http, which takes the
// rest.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-.:[]_", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validFieldValue rejects control bytes other than horizontal tab, as
// net/http's server does.
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
