package aws

import (
	"errors"
	"slices"

	"github.com/aws/smithy-go"
)

// isCode reports whether err is an AWS API error with one of codes.
func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && slices.Contains(codes, ae.ErrorCode())
}
