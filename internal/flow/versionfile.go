package flow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/canaryflow/canaryflow/internal/userfile"
)

// ErrNoVersionField is returned for a JSON version file with no top-level
// "version" string.
var ErrNoVersionField = errors.New(`no top-level "version" string`)

// readVersionFile returns the version a file declares.
func readVersionFile(path string) (string, error) {
	data, err := userfile.Read(path)
	if err != nil {
		return "", err
	}
	return parseVersionFile(path, data)
}

// parseVersionFile returns the version declared by the content of a
// version file named path.
func parseVersionFile(path string, data []byte) (string, error) {
	if isJSON(path) {
		start, end, err := jsonVersionSpan(data)
		if err != nil {
			return "", fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		var s string
		if err := json.Unmarshal(data[start:end], &s); err != nil {
			return "", fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		return s, nil
	}
	return strings.TrimSpace(string(data)), nil
}

// writeVersionFile sets the version in a file, keeping the rest of the file
// byte for byte (a package.json keeps its key order and indentation).
func writeVersionFile(path, version string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	data, err := userfile.Read(path)
	if err != nil {
		return err
	}
	out, err := setVersionIn(path, data, version)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, out, info.Mode().Perm())
}

// setVersionIn returns the content of the version file named path with its
// version set, everything else unchanged.
func setVersionIn(path string, data []byte, version string) ([]byte, error) {
	if !isJSON(path) {
		return []byte(version + "\n"), nil
	}
	start, end, err := jsonVersionSpan(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	quoted, _ := json.Marshal(version)
	return append(append(append([]byte{}, data[:start]...), quoted...), data[end:]...), nil
}

func isJSON(path string) bool { return strings.EqualFold(filepath.Ext(path), ".json") }

// jsonVersionSpan finds the byte range of the value of the top-level
// "version" key, quotes included.
func jsonVersionSpan(data []byte) (start, end int, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return 0, 0, ErrNoVersionField
		}
		if err != nil {
			return 0, 0, fmt.Errorf("not valid JSON: %w", err)
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				depth++
				expectKey = depth == 1
			case '[':
				depth++
			case '}', ']':
				depth--
				expectKey = depth == 1
			}
			continue
		case string:
			if depth == 1 && expectKey && t == "version" {
				before := dec.InputOffset()
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return 0, 0, fmt.Errorf("not valid JSON: %w", err)
				}
				after := int(dec.InputOffset())
				if len(raw) == 0 || raw[0] != '"' {
					return 0, 0, ErrNoVersionField
				}
				// The value ends at after; it starts after any ':' and space.
				s := bytes.IndexByte(data[before:after], '"')
				return int(before) + s, after, nil
			}
		}
		if depth == 1 {
			// After a key comes its value; after a scalar value, a key.
			expectKey = !expectKey
		}
	}
}

// writeFileAtomic writes data to a temporary file and renames it over path,
// so a crash never leaves a half-written file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
