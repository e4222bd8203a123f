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
	"strings"
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

// Marshal writes plain (a struct value whose type has no MarshalJSON of its
// own, usually a defined copy of the caller's type) with each named
// duration as "5m0s" and its …Seconds number. The names are JSON keys.
func Marshal(plain any, durations map[string]time.Duration) ([]byte, error) {
	data, err := json.Marshal(plain)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	for key, d := range durations {
		obj[key], _ = json.Marshal(time.Duration(d).String())
		obj[key+"Seconds"], _ = json.Marshal(d.Seconds())
	}
	return json.Marshal(obj)
}

// Unmarshal reads what Marshal writes into plain (a pointer) and the named
// durations, which may also be numbers of nanoseconds (the older form).
// The …Seconds numbers are ignored: the string says the same.
func Unmarshal(data []byte, plain any, durations map[string]*time.Duration) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return err
	}
	for key, p := range durations {
		for k, raw := range obj {
			// encoding/json matches keys in any case; so does this.
			if !strings.EqualFold(k, key) {
				continue
			}
			var d Duration
			if err := d.UnmarshalJSON(raw); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			*p = time.Duration(d)
			delete(obj, k)
		}
		delete(obj, key+"Seconds")
	}
	rest, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return json.Unmarshal(rest, plain)
}
