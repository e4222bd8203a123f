package router

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// headSeeds are request and response heads in the forms clients and
// servers send, and near misses of them.
var requestSeeds = []string{
	"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
	"GET /a/b?c=d&e=%20f HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n",
	"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
	"GET / HTTP/1.1\r\nhost: x\r\nx-lower: v\r\nX_UNDER: v\r\nconnection: keep-alive, Close\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\nCache-Control: max-age=0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-A: 2\r\nX-Empty:\r\nX-Tabs:\t a \t\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 007\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
	"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX: caf\xc3\xa9\r\n\r\n",
	"GET /#frag HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET //double/slash HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
	"CONNECT /x HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.0\r\nHost: x\r\n\r\n",
	"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
	"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.1\r\n\r\n",
}

var responseSeeds = []string{
	"HTTP/1.1 200 OK\r\nX-Backend: blue\r\nDate: Wed, 26 Nov 2026 00:57:41 GMT\r\nContent-Length: 16\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello from blue\n",
	"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nConnection: close, X-Secret\r\nX-Secret: s\r\n\r\nno\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\n\r\nclose-delimited",
	"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 +20 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 0\r\nTrailer: X-T\r\n\r\n",
}

// FuzzRequestHeadMatchesNetHTTP checks that whenever parseRequestHead takes
// a strictly framed head, http.ReadRequest takes the same bytes and reads
// the same request from them.
func FuzzRequestHeadMatchesNetHTTP(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		end := scanHead(data)
		if end <= 0 {
			return
		}
		head := data[:end]
		got := new(http.Request)
		if !parseRequestHead(head, got, http.Header{}, new(url.URL), nil) {
			return
		}
		want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			t.Fatalf("parseRequestHead took a head net/http refuses (%v):\n%q", err, head)
		}
		type view struct {
			Method, Proto, Host, RequestURI string
			ProtoMajor, ProtoMinor          int
			URL                             any
			Header                          http.Header
			ContentLength                   int64
			TransferEncoding                []string
			Close                           bool
			Trailer                         http.Header
		}
		g := view{got.Method, got.Proto, got.Host, got.RequestURI, got.ProtoMajor, got.ProtoMinor, *got.URL, got.Header, got.ContentLength, got.TransferEncoding, got.Close, got.Trailer}
		w := view{want.Method, want.Proto, want.Host, want.RequestURI, want.ProtoMajor, want.ProtoMinor, *want.URL, want.Header, want.ContentLength, want.TransferEncoding, want.Close, want.Trailer}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("head %q:\n got  %+v\n want %+v", head, g, w)
		}
	})
}

// FuzzResponseHeadMatchesNetHTTP checks that whenever parseResponseHead
// takes a strictly framed head, http.ReadResponse reads the same response
// from the same bytes, and the body that follows frames the same way.
func FuzzResponseHeadMatchesNetHTTP(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s))
	}
	get, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		end := scanHead(data)
		if end <= 0 {
			return
		}
		var got http.Response
		if !parseResponseHead(data[:end], &got, http.Header{}) {
			return
		}
		br := bufio.NewReader(bytes.NewReader(data))
		want, err := http.ReadResponse(br, get)
		if err != nil {
			t.Fatalf("parseResponseHead took a head net/http refuses (%v):\n%q", err, data[:end])
		}
		type view struct {
			Status, Proto          string
			StatusCode             int
			ProtoMajor, ProtoMinor int
			Header                 http.Header
			ContentLength          int64
			TransferEncoding       []string
			Close                  bool
			Trailer                http.Header
		}
		g := view{got.Status, got.Proto, got.StatusCode, got.ProtoMajor, got.ProtoMinor, got.Header, got.ContentLength, got.TransferEncoding, got.Close, got.Trailer}
		w := view{want.Status, want.Proto, want.StatusCode, want.ProtoMajor, want.ProtoMinor, want.Header, want.ContentLength, want.TransferEncoding, want.Close, want.Trailer}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("head %q:\n got  %+v\n want %+v", data[:end], g, w)
		}
		// The body: the same bytes, the same error at a short body, and
		// the same bytes left for the next response.
		wantBody, wantErr := io.ReadAll(want.Body)
		fb := fixedBody{br: bufio.NewReader(bytes.NewReader(data[end:])), remaining: got.ContentLength}
		gotBody, gotErr := io.ReadAll(&fb)
		if !bytes.Equal(gotBody, wantBody) || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("body of %q: got %q, %v; want %q, %v", data, gotBody, gotErr, wantBody, wantErr)
		}
		wantRest, _ := io.ReadAll(br)
		gotRest, _ := io.ReadAll(fb.br)
		if !bytes.Equal(gotRest, wantRest) {
			t.Fatalf("after the body of %q: got %q left, want %q", data, gotRest, wantRest)
		}
	})
}

// TestHeadParsersTakeTheCommonForms makes sure the fast parsers are used
// for what clients and servers usually send, and decline the forms they
// leave to net/http.
func TestHeadParsersTakeTheCommonForms(t *testing.T) {
	declinedRequests := map[string]bool{}
	for _, s := range requestSeeds[7:] {
		declinedRequests[s] = true
	}
	for _, s := range []string{requestSeeds[10], requestSeeds[15], requestSeeds[16]} {
		declinedRequests[s] = false // leading zeros, a fragment, "//": taken, as net/http reads them
	}
	for _, s := range requestSeeds {
		end := scanHead([]byte(s))
		ok := parseRequestHead([]byte(s[:max(end, 0)]), new(http.Request), http.Header{}, new(url.URL), nil)
		if ok == declinedRequests[s] {
			t.Errorf("parseRequestHead(%q) = %v, want %v", s, ok, !declinedRequests[s])
		}
	}
	takenResponses := map[string]bool{responseSeeds[0]: true, responseSeeds[1]: true, responseSeeds[2]: true, responseSeeds[14]: true}
	for _, s := range responseSeeds {
		var resp http.Response
		end := scanHead([]byte(s))
		if ok := end > 0 && parseResponseHead([]byte(s[:end]), &resp, http.Header{}); ok != takenResponses[s] {
			t.Errorf("parseResponseHead(%q) = %v, want %v", s, ok, takenResponses[s])
		}
	}
}
