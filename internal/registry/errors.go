package registry

import (
	"encoding/json"
	"net/http"
)

// writeError writes a distribution-spec error body.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	type item struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Errors []item `json:"errors"`
	}{Errors: []item{{Code: code, Message: msg}}})
}
