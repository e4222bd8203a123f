package aws

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/smithy-go"
)

// AccountError is an AWS error put in one plain line: what is wrong with
// the credentials, the region or the permissions, and what to do. The
// SDK's own error chain stays reachable through Unwrap.
type AccountError struct {
	Msg string
	Err error
}

func (e *AccountError) Error() string { return e.Msg }
func (e *AccountError) Unwrap() error { return e.Err }

// Explain turns the AWS errors a user meets first (no credentials, an
// expired session, access denied, credentials AWS does not know, a region
// that does not exist) into one line with the fix; any other error is
// returned as it is. profile is the profile in use, "" for the default.
func Explain(err error, profile string) error {
	if err == nil {
		return nil
	}
	var ae *AccountError
	if errors.As(err, &ae) {
		return err
	}
	use := "--profile NAME"
	if profile != "" {
		use = "--profile " + profile
	}
	text := err.Error()
	var api smithy.APIError
	isAPI := errors.As(err, &api)
	code := ""
	if isAPI {
		code = api.ErrorCode()
	}
	op := ""
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		op = oe.Service() + " " + oe.Operation()
	}
	var dns *net.DNSError
	switch {
	case code == "ExpiredToken" || code == "ExpiredTokenException" || code == "RequestExpired" ||
		strings.Contains(text, "token has expired") || strings.Contains(text, "refresh cached SSO token failed") || strings.Contains(text, "session has expired"):
		return &AccountError{Err: err, Msg: fmt.Sprintf("the AWS session has expired: run `aws sso login %s` (IAM Identity Center), or get new keys for AWS_PROFILE", use)}
	case code == "InvalidClientTokenId" || code == "UnrecognizedClientException" || code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" || code == "AuthFailure":
		return &AccountError{Err: err, Msg: fmt.Sprintf("AWS does not accept these credentials (%s): check AWS_PROFILE or %s, or the keys in ~/.aws/credentials", code, use)}
	case code == "AccessDenied" || code == "AccessDeniedException" || code == "UnauthorizedOperation" || code == "UnauthorizedException" || code == "AuthorizationError":
		what := "this call"
		if op != "" {
			what = op
		}
		return &AccountError{Err: err, Msg: fmt.Sprintf("access denied: the credentials in use may not call %s; use a profile that may (AWS_PROFILE or %s), or ask for the permission (%s)", what, use, firstLine(api.ErrorMessage()))}
	case strings.Contains(text, "failed to refresh cached credentials") || strings.Contains(text, "no EC2 IMDS role found") ||
		strings.Contains(text, "failed to retrieve credentials") || strings.Contains(text, "no valid providers in chain") ||
		strings.Contains(text, "static credentials are empty"):
		return &AccountError{Err: err, Msg: fmt.Sprintf("no AWS credentials found: set AWS_PROFILE (or %s) to a profile in ~/.aws/config, run `aws configure`, or `aws sso login %s` for IAM Identity Center", use, use)}
	case errors.As(err, &dns) && strings.Contains(dns.Name, "amazonaws.com"):
		return &AccountError{Err: err, Msg: fmt.Sprintf("cannot reach %s (no such host): the region is probably wrong; check aws.region in canaryflow.yaml, AWS_REGION or --region", dns.Name)}
	case strings.Contains(text, "Invalid endpoint") || strings.Contains(text, "Invalid region") || strings.Contains(text, "invalid AWS region"):
		return &AccountError{Err: err, Msg: "no valid AWS region: set aws.region in canaryflow.yaml, AWS_REGION, or --region"}
	}
	return err
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
