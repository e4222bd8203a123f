// Command bad is a broken release for the daemon's tests: healthy to the
// router's health check, but every request to / fails with 500.
package main

import (
	"net/http"
	"os"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "broken release", 500) })
	if err := http.ListenAndServe(":"+port, mux); err != nil {
		os.Exit(1)
	}
}
