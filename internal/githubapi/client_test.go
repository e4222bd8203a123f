package githubapi

import "testing"

// TestNewRefusesPlainHTTP: the token goes over https, or plain http to
// this machine only (a test server, a local proxy).
func TestNewRefusesPlainHTTP(t *testing.T) {
	for base, ok := range map[string]bool{
		"https://ghe.example.com/api/v3/": true,
		"http://127.0.0.1:8080":           true,
		"http://localhost:9/":             true,
		"http://ghe.example.com/api/v3/":  false,
		"ftp://ghe.example.com/":          false,
		"not a url":                       false,
	} {
		_, err := New(Options{Owner: "o", Repo: "r", Token: "t", BaseURL: base})
		if (err == nil) != ok {
			t.Errorf("New(BaseURL %q) err = %v, want ok %v", base, err, ok)
		}
	}
	if _, err := New(Options{Owner: "o", Repo: "r"}); err != ErrNoToken {
		t.Errorf("New without a token: err = %v, want ErrNoToken", err)
	}
}
