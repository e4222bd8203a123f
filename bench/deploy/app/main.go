// Command app is the service the deploy benchmark rolls out: "Version: X"
// on /, "ok" on /healthz, and a 500 for FAIL_PERCENT percent of requests
// to / (0 by default, 100 for a broken release).
package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
)

var version = "0.0.0"

func main() {
	fail, _ := strconv.ParseFloat(os.Getenv("FAIL_PERCENT"), 64)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if rand.Float64()*100 < fail {
			http.Error(w, "injected failure", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "Version: %s\n", version)
	})
	if err := http.ListenAndServe(":"+os.Getenv("PORT"), mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
