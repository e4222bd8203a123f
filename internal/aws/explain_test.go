package aws

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// stsAnswering is an STS endpoint that refuses every call with code.
func stsAnswering(t *testing.T, code, message string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`, code, message)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestExplainAPIErrors: an expired session, access denied and credentials
// AWS does not know, as a real SDK call meets them, each become one line
// with the fix.
func TestExplainAPIErrors(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
	for _, tc := range []struct{ code, message, profile, want string }{
		{"ExpiredToken", "The security token included in the request is expired", "dev",
			"the AWS session has expired: run `aws sso login --profile dev` (IAM Identity Center), or get new keys for AWS_PROFILE"},
		{"AccessDenied", "User: arn:aws:iam::111122223333:user/x is not authorized to perform: sts:GetCallerIdentity", "",
			"access denied: the credentials in use may not call STS GetCallerIdentity; use a profile that may (AWS_PROFILE or --profile NAME), or ask for the permission (User: arn:aws:iam::111122223333:user/x is not authorized to perform: sts:GetCallerIdentity)"},
		{"InvalidClientTokenId", "The security token included in the request is invalid.", "",
			"AWS does not accept these credentials (InvalidClientTokenId): check AWS_PROFILE or --profile NAME, or the keys in ~/.aws/credentials"},
	} {
		c, err := NewClients(context.Background(), ClientOptions{Region: "us-west-2", Endpoint: stsAnswering(t, tc.code, tc.message)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Account(context.Background())
		got := Explain(fmt.Errorf("discover the account: %w", err), tc.profile)
		if got == nil || got.Error() != tc.want {
			t.Errorf("%s: %v\nwant %s", tc.code, got, tc.want)
		}
		if strings.Contains(got.Error(), "\n") {
			t.Errorf("%s: more than one line", tc.code)
		}
	}
	// A region that does not exist: its endpoints have no address.
	dns := &net.DNSError{Name: "sts.us-west-9.amazonaws.com", Err: "no such host", IsNotFound: true}
	if err := Explain(fmt.Errorf("get caller identity: %w", dns), ""); err == nil ||
		err.Error() != "cannot reach sts.us-west-9.amazonaws.com (no such host): the region is probably wrong; check aws.region in canaryflow.yaml, AWS_REGION or --region" {
		t.Errorf("unknown region: %v", err)
	}
	if err := Explain(fmt.Errorf("plan: %w", os.ErrNotExist), ""); err.Error() != "plan: file does not exist" {
		t.Errorf("another error was changed: %v", err)
	}
}

// TestNoCredentialsIsOneLineAndTheSDKSaysNothing: with no credentials
// anywhere and an instance metadata endpoint that refuses tokens (as the
// SDK meets off EC2), the error is one line naming AWS_PROFILE, --profile
// and aws sso login, and the SDK writes nothing to stderr (no "WARN
// falling back to IMDSv1").
func TestNoCredentialsIsOneLineAndTheSDKSaysNothing(t *testing.T) {
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPut {
			w.WriteHeader(http.StatusForbidden) // no IMDSv2 token: the SDK falls back to v1, and says so
			return
		}
		w.WriteHeader(http.StatusNotFound) // no role
	}))
	defer imds.Close()
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "AWS_CONFIG_FILE": home + "/config", "AWS_SHARED_CREDENTIALS_FILE": home + "/credentials",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL, "AWS_EC2_METADATA_DISABLED": "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
	} {
		t.Setenv(k, v)
	}
	// The SDK's default logger writes to os.Stderr: watch it.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	c, err := NewClients(context.Background(), ClientOptions{Region: "us-west-2", Endpoint: stsAnswering(t, "Unused", "")})
	if err == nil {
		_, err = c.Account(context.Background())
	}
	os.Stderr = stderr
	w.Close()
	said, _ := io.ReadAll(r)
	if len(said) > 0 {
		t.Errorf("the SDK wrote to stderr: %s", said)
	}
	got := Explain(err, "")
	want := "no AWS credentials found: set AWS_PROFILE (or --profile NAME) to a profile in ~/.aws/config, run `aws configure`, or `aws sso login --profile NAME` for IAM Identity Center"
	if got == nil || got.Error() != want {
		t.Errorf("no credentials: %v\nwant %s\n(from %v)", got, want, err)
	}
}
