package registry

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadRange is returned for a Content-Range header an upload chunk cannot
// carry; the registry answers it with 416 Range Not Satisfiable.
var ErrBadRange = errors.New("content range not satisfiable")

// chunkRange is the inclusive byte range of one upload chunk.
type chunkRange struct {
	Start, End int64
}

// Len is the number of bytes the range covers.
func (c chunkRange) Len() int64 { return c.End - c.Start + 1 }

// maxRangeDigits keeps both numbers well inside int64, so End+1 and Len
// cannot overflow.
const maxRangeDigits = 18

// parseContentRange reads the distribution spec's chunk range, "<start>-<end>"
// with end inclusive and end >= start. Signs, spaces, "bytes" units, a
// missing number and numbers of more than 18 digits are refused, so a range
// such as "N-0" can never be read as a small chunk.
func parseContentRange(s string) (chunkRange, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return chunkRange{}, fmt.Errorf("%w: %q is not <start>-<end>", ErrBadRange, s)
	}
	start, err := rangeNumber(lo)
	if err != nil {
		return chunkRange{}, fmt.Errorf("%w: %q: start %v", ErrBadRange, s, err)
	}
	end, err := rangeNumber(hi)
	if err != nil {
		return chunkRange{}, fmt.Errorf("%w: %q: end %v", ErrBadRange, s, err)
	}
	if end < start {
		return chunkRange{}, fmt.Errorf("%w: %q ends before it starts", ErrBadRange, s)
	}
	return chunkRange{Start: start, End: end}, nil
}

func rangeNumber(s string) (int64, error) {
	if s == "" || len(s) > maxRangeDigits {
		return 0, fmt.Errorf("must be 1-%d digits", maxRangeDigits)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a number", s)
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
