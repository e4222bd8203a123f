// Package durjson is how canaryflow writes a duration in JSON, once for
// every document it prints or stores: a string Go and a person both read
// ("5m0s"), with the same span as a number of seconds beside it under the
// key with "Seconds" appended ("interval": "5m0s", "intervalSeconds": 300).
// Reading takes the string, or a number of nanoseconds, which is what
// canaryflow wrote before, so stored deployments read back unchanged.
package durjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration in JSON as this package writes it.
type Duration time.Duration

// MarshalJSON writes "5m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads "5m0s", or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var ns int64
	if err := json.Unmarshal(data, &ns); err != nil {
		return fmt.Errorf("duration %s: want \"5m0s\" or a number of nanoseconds", data)
	}
	*d = Duration(ns)
	return nil
}
