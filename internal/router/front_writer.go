package router

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// smallBody is how much of a response without a declared length the fast
// path holds back, so short answers (the router's own errors) go out with a
// Content-Length instead of chunked.
const smallBody = 2 << 10

// frontWriter is the http.ResponseWriter of the fast path: HTTP/1.1 to the
// client, framed by Content-Length when the length is known and chunked
// otherwise, with trailers and immediate flushes for streamed answers. One
// is reused for every request of a connection.
type frontWriter struct {
	// bw is lent from bufs, writing to dst, when the head is committed,
	// and given back by the connection after the answer: a request
	// waiting for its target holds none.
	bw     *bufio.Writer
	bufs   *connBuffers
	dst    io.Writer
	header http.Header
	req    *http.Request
	// shutting reports whether the server is shutting down, so the answer
	// says Connection: close.
	shutting func() bool

	status    int
	committed bool  // head written to bw
	noBody    bool  // HEAD, 204 or 304: body writes are dropped
	chunked   bool  // body framed in chunks
	length    int64 // declared Content-Length, -1 if unknown
	written   int64
	pending   []byte // body held back before the head is committed
	trailers  []string
	num       [20]byte // scratch for numbers, here so it is not allocated per use
	// closeAfter is set when the connection cannot carry another request.
	closeAfter bool
}

func (w *frontWriter) reset(req *http.Request) {
	clear(w.header)
	w.req = req
	w.status = 0
	w.committed, w.noBody, w.chunked, w.closeAfter = false, false, false, req.Close
	w.length, w.written = -1, 0
	w.pending = w.pending[:0]
	w.trailers = w.trailers[:0]
}

// Header returns the response header map.
func (w *frontWriter) Header() http.Header { return w.header }

// WriteHeader records the status; the head goes out with the first body
// bytes, a flush or the end of the handler. Informational codes are not
// relayed: the router never sends them.
func (w *frontWriter) WriteHeader(code int) {
	if w.status != 0 || code < 200 {
		return
	}
	w.status = code
	w.noBody = w.req.Method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified
	if cl := w.header["Content-Length"]; len(cl) == 1 {
		if n, err := strconv.ParseInt(cl[0], 10, 64); err == nil && n >= 0 {
			w.length = n
		}
	}
}

// Write sends body bytes, holding small ones back until the length is known.
func (w *frontWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.noBody {
		if w.req.Method == http.MethodHead {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.length >= 0 {
		if w.written+int64(len(p)) > w.length {
			return 0, http.ErrContentLength
		}
		w.commit(false)
		w.written += int64(len(p))
		return w.bw.Write(p)
	}
	if !w.committed && len(w.pending)+len(p) <= smallBody {
		w.pending = append(w.pending, p...)
		return len(p), nil
	}
	w.commit(false)
	w.written += int64(len(p))
	return len(p), w.writeChunk(p)
}

func (w *frontWriter) writeChunk(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	w.bw.Write(strconv.AppendInt(w.num[:0], int64(len(p)), 16))
	w.bw.WriteString("\r\n")
	w.bw.Write(p)
	_, err := w.bw.WriteString("\r\n")
	return err
}

// FlushError sends everything written so far to the client; it is what
// http.ResponseController.Flush calls.
func (w *frontWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.commit(false)
	return w.bw.Flush()
}

// Flush is FlushError for callers of http.Flusher.
func (w *frontWriter) Flush() { _ = w.FlushError() }

// finish completes the response after the handler returned.
func (w *frontWriter) finish() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.commit(true)
	switch {
	case w.chunked:
		w.bw.WriteString("0\r\n")
		w.writeTrailers()
		w.bw.WriteString("\r\n")
	case !w.noBody && w.length >= 0 && w.written < w.length:
		// The handler wrote less than it declared: only closing the
		// connection tells the client.
		w.closeAfter = true
	}
	return w.bw.Flush()
}

// commit writes the status line and header once. final says the handler
// has returned, so a held-back body has its length.
func (w *frontWriter) commit(final bool) {
	if w.committed {
		return
	}
	w.committed = true
	w.bw = w.bufs.writer(w.dst)
	if w.shutting != nil && w.shutting() {
		w.closeAfter = true
	}
	bw := w.bw
	bw.WriteString("HTTP/1.1 ")
	num := w.num[:0]
	bw.Write(strconv.AppendInt(num, int64(w.status), 10))
	bw.WriteByte(' ')
	if text := http.StatusText(w.status); text != "" {
		bw.WriteString(text)
	} else {
		bw.WriteString("status code")
	}
	bw.WriteString("\r\n")
	for k, vv := range w.header {
		switch {
		case k == "Content-Length" || k == "Transfer-Encoding" || k == "Connection" || strings.HasPrefix(k, http.TrailerPrefix):
			continue
		case k == "Trailer":
			w.declareTrailers(vv)
		}
		writeField(bw, k, vv)
	}
	if _, ok := w.header["Date"]; !ok {
		bw.WriteString("Date: ")
		bw.WriteString(httpDate())
		bw.WriteString("\r\n")
	}
	switch {
	case w.status == http.StatusNoContent:
	case w.length >= 0 && (w.status != http.StatusNotModified || len(w.header["Content-Length"]) > 0):
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(num, w.length, 10))
		bw.WriteString("\r\n")
	case w.noBody:
	case final && len(w.header["Trailer"]) == 0:
		w.length = int64(len(w.pending))
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(num, w.length, 10))
		bw.WriteString("\r\n")
	default:
		w.chunked = true
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if w.closeAfter {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	if len(w.pending) > 0 {
		w.written = int64(len(w.pending))
		if w.chunked {
			_ = w.writeChunk(w.pending)
		} else {
			bw.Write(w.pending)
		}
		w.pending = w.pending[:0]
	}
}

// declareTrailers notes the trailer fields a Trailer header declares. It
// is kept out of commit, which runs at the deepest point of a proxied
// request (see answerFailed).
func (w *frontWriter) declareTrailers(vv []string) {
	for _, v := range vv {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				w.trailers = append(w.trailers, http.CanonicalHeaderKey(f))
			}
		}
	}
}

// release gives the write buffer back, once the answer is out (or cut).
func (w *frontWriter) release() {
	if w.bw != nil {
		w.bufs.putWriter(w.bw)
		w.bw = nil
	}
}

// writeTrailers writes the trailer fields set through http.TrailerPrefix or
// declared in the Trailer header.
func (w *frontWriter) writeTrailers() {
	for k, vv := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			writeField(w.bw, http.CanonicalHeaderKey(name), vv)
		}
	}
	for _, k := range w.trailers {
		if vv, ok := w.header[k]; ok {
			writeField(w.bw, k, vv)
		}
	}
}

// writeField writes one header field per value, turning any CR or LF in a
// value into a space so no value can start a new field (as net/http does).
func writeField(bw *bufio.Writer, k string, vv []string) {
	for _, v := range vv {
		bw.WriteString(k)
		bw.WriteString(": ")
		if strings.ContainsAny(v, "\r\n") {
			v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
		}
		bw.WriteString(v)
		bw.WriteString("\r\n")
	}
}

// httpDate returns the Date header value, formatted once a second.
func httpDate() string {
	now := time.Now().Unix()
	if d := cachedDate.Load(); d != nil && d.unix == now {
		return d.text
	}
	d := &dateText{unix: now, text: time.Unix(now, 0).UTC().Format(http.TimeFormat)}
	cachedDate.Store(d)
	return d.text
}

type dateText struct {
	unix int64
	text string
}

var cachedDate atomic.Pointer[dateText]
