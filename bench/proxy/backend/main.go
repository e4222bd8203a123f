// Command backend is the trivial upstream of the proxy benchmark: it answers
// every request with a short body naming itself, and counts requests so the
// benchmark can read the observed split from GET /__count (which resets it)
// or from the X-Backend header.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"sync/atomic"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:9001", "address to listen on")
	name := flag.String("name", "blue", "name in the response body")
	flag.Parse()
	var count atomic.Int64
	body := []byte("hello from " + *name + "\n")
	mux := http.NewServeMux()
	mux.HandleFunc("/__count", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, count.Swap(0))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		count.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Backend", *name)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, mux))
}
