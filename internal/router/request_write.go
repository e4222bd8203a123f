package router

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// writeRequestHead writes the request line and headers, with the forwarding
// headers appended and hop-by-hop ones dropped. via is the router's own Via
// line ("Via: 1.1 name\r\n"), added after any Via the request came with.
func writeRequestHead(bw *bufio.Writer, r *http.Request, hasBody bool, via string) error {
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' && uri != "*" {
		uri = r.URL.RequestURI()
	}
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	conn := r.Header["Connection"]
	for k, vv := range r.Header {
		if isHopHeader(k) || k == "Content-Length" || k == "Expect" || k == "X-Forwarded-For" ||
			k == "X-Forwarded-Proto" || k == "X-Forwarded-Host" || (len(conn) > 0 && listedIn(conn, k)) {
			continue
		}
		for _, v := range vv {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		bw.WriteString("X-Forwarded-For: ")
		if prior := r.Header["X-Forwarded-For"]; len(prior) > 0 {
			for _, p := range prior {
				bw.WriteString(p)
				bw.WriteString(", ")
			}
		}
		bw.WriteString(ip)
		bw.WriteString("\r\n")
	}
	if r.TLS != nil {
		bw.WriteString("X-Forwarded-Proto: https\r\n")
	} else {
		bw.WriteString("X-Forwarded-Proto: http\r\n")
	}
	bw.WriteString("X-Forwarded-Host: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	bw.WriteString(via)
	switch {
	case !hasBody:
		if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
			bw.WriteString("Content-Length: 0\r\n")
		}
	case r.ContentLength > 0:
		bw.WriteString("Content-Length: ")
		var num [20]byte
		bw.Write(strconv.AppendInt(num[:0], r.ContentLength, 10))
		bw.WriteString("\r\n")
	default:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	_, err := bw.WriteString("\r\n")
	return err
}

// listedIn reports whether header k is named in a Connection header.
func listedIn(connection []string, k string) bool {
	for _, v := range connection {
		for f := range strings.SplitSeq(v, ",") {
			if http.CanonicalHeaderKey(strings.TrimSpace(f)) == k {
				return true
			}
		}
	}
	return false
}

// bodyReadError marks a failure reading the client's request body.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return "read client body: " + e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// bodyReader tags read errors so they can be told from write errors.
type bodyReader struct{ r io.Reader }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = &bodyReadError{err: err}
	}
	return n, err
}

// writeBody streams the request body, chunked when its length is unknown.
func (rt *Router) writeBody(bw *bufio.Writer, r *http.Request) error {
	bufp := rt.buffers.Get().(*[]byte)
	defer rt.buffers.Put(bufp)
	src := bodyReader{r.Body}
	if r.ContentLength > 0 {
		n, err := io.CopyBuffer(onlyWriter{bw}, io.LimitReader(src, r.ContentLength), *bufp)
		if err == nil && n < r.ContentLength {
			err = &bodyReadError{err: io.ErrUnexpectedEOF}
		}
		return err
	}
	buf := *bufp
	for {
		n, err := src.Read(buf)
		if n > 0 {
			bw.WriteString(strconv.FormatInt(int64(n), 16))
			bw.WriteString("\r\n")
			bw.Write(buf[:n])
			if _, werr := bw.WriteString("\r\n"); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			_, werr := bw.WriteString("0\r\n\r\n")
			return werr
		}
		if err != nil {
			return err
		}
	}
}

// onlyWriter hides ReadFrom so CopyBuffer uses the pooled buffer.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }
