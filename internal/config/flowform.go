package config

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// go-yaml parses a block mapping by recursing once per key and copying the
// rest of the mapping at every level, so a mapping of n keys costs n²: a
// canaryflow.yaml with 30,000 env keys took 4 s and 3.8 GB of allocations
// (300,000 keys: some 7 minutes). Its flow mappings ({a: 1, b: 2}) are
// parsed in a loop. flowForm rewrites the plain block YAML canaryflow.yaml
// is written in as the same document in flow style, line for line, so
// go-yaml parses it in time linear in its size (300,000 keys: about 2 s)
// and every error keeps its line. Anything unusual (anchors, tags, block
// scalars, escapes, multi-line scalars, a ':' other than a URL's, tabs,
// several documents) is not rewritten: such a document goes to go-yaml as
// it is, after checkBlockSizes has bounded its cost. FuzzFlowForm checks
// that both forms decode to the same values.

// plainKey is a mapping key flowForm rewrites as it is: letters, digits
// and a few punctuation marks that mean nothing to either style (a key
// such as "A=B" is kept, so validation reports it as such).
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_./=+-]*$`)

// frame is an open block collection: its indentation and whether it is a
// sequence; entries counts what it holds so far.
type frame struct {
	indent  int
	seq     bool
	entries int
}

// flowForm returns data rewritten in flow style with each line's content on
// the same line, or ok false when data is not in the plain subset.
func flowForm(data []byte) (out []byte, ok bool) {
	if bytes.ContainsAny(data, "\t\r") {
		return nil, false
	}
	lines := strings.Split(string(data), "\n")
	outLines := make([][]string, len(lines))
	var stack []frame
	last := -1       // the line of the last token written
	pendingKey := -1 // indentation of a "key:" whose value is not known yet
	emit := func(line int, s ...string) {
		outLines[line] = append(outLines[line], s...)
		last = line
	}
	closeTop := func() {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if top.seq {
			emit(last, "]")
		} else {
			emit(last, "}")
		}
	}
	for n, raw := range lines {
		body := strings.TrimLeft(raw, " ")
		indent := len(raw) - len(body)
		body, okLine := stripComment(body)
		if !okLine {
			return nil, false
		}
		if body == "" {
			continue
		}
		if indent == 0 && (strings.HasPrefix(body, "---") || strings.HasPrefix(body, "...") || body[0] == '%') {
			return nil, false
		}
		item := body == "-" || strings.HasPrefix(body, "- ")
		// A "key:" with no value is followed by its value's collection,
		// more indented (or, for a sequence, at the key's own indentation).
		if pendingKey >= 0 {
			opens := indent > pendingKey || item && indent == pendingKey && len(stack) > 0 && !stack[len(stack)-1].seq
			if opens {
				if item {
					emit(n, "[")
				} else {
					emit(n, "{")
				}
				stack = append(stack, frame{indent: indent, seq: item})
			} else {
				emit(last, "null")
			}
			pendingKey = -1
		} else if len(stack) == 0 {
			if last >= 0 {
				return nil, false // a second root
			}
			if item {
				emit(n, "[")
			} else {
				emit(n, "{")
			}
			stack = append(stack, frame{indent: indent, seq: item})
		}
		for len(stack) > 0 && (stack[len(stack)-1].indent > indent || stack[len(stack)-1].indent == indent && stack[len(stack)-1].seq && !item) {
			closeTop()
		}
		if len(stack) == 0 || stack[len(stack)-1].indent != indent || stack[len(stack)-1].seq != item {
			return nil, false // a continuation line, or a key among items
		}
		top := &stack[len(stack)-1]
		if top.entries > 0 {
			emit(last, ",")
		}
		top.entries++
		if item {
			v := strings.TrimLeft(strings.TrimPrefix(body, "-"), " ")
			if v == "" || !flowScalar(v, false) {
				return nil, false // nested collections in sequences are left to go-yaml
			}
			emit(n, v)
			continue
		}
		key, value, found := strings.Cut(body, ":")
		if !found || !plainKey.MatchString(key) || value != "" && value[0] != ' ' {
			return nil, false
		}
		value = strings.TrimLeft(value, " ")
		if value == "" {
			emit(n, key, ": ")
			pendingKey = indent
			continue
		}
		if !flowScalar(value, true) {
			return nil, false
		}
		emit(n, key, ": ", value)
	}
	if last < 0 {
		return nil, false
	}
	if pendingKey >= 0 {
		emit(last, "null")
	}
	for len(stack) > 0 {
		closeTop()
	}
	var b bytes.Buffer
	b.Grow(len(data) + len(data)/4)
	for i, parts := range outLines {
		if i > 0 {
			b.WriteByte('\n')
		}
		if len(parts) > 0 { // keep the indentation, so columns stay right too
			b.WriteString(lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " "))])
		}
		for _, p := range parts {
			b.WriteString(p)
		}
	}
	return b.Bytes(), true
}

// stripComment removes a trailing comment. ok is false when the line has
// quotes together with a '#', where telling a comment from text would take
// a real scanner.
func stripComment(s string) (string, bool) {
	if strings.HasPrefix(s, "#") {
		return "", true
	}
	i := strings.Index(s, " #")
	if i < 0 {
		return strings.TrimRight(s, " "), true
	}
	if strings.ContainsAny(s, `"'`) {
		return "", false
	}
	return strings.TrimRight(s[:i], " "), true
}

// flowScalar reports whether v, a value on one line, means the same in a
// flow collection as in a block one: a quoted string that ends the line, a
// flow collection whose brackets close on the line, or a plain scalar with
// no character that flow style treats specially.
func flowScalar(v string, inMap bool) bool {
	switch v[0] {
	case '"':
		// Escapes are left to go-yaml: its flow scanner reads some of
		// them differently from its block one (found by FuzzFlowForm).
		return !strings.Contains(v, `\`) && closesAtEnd(v, '"')
	case '\'':
		return closesAtEnd(v, '\'')
	case '[', '{':
		return balancedFlow(v)
	}
	if strings.HasPrefix(v, "...") || strings.ContainsAny(v, ",[]{}#\"'\\") || strings.ContainsRune("-?:&*!|>%@`", rune(v[0])) {
		return false
	}
	// A URL's "://" is text in both styles as a mapping's value; any
	// other ':' (and any in a sequence, where go-yaml's flow scanner
	// reads "a:b" as a mapping: found by FuzzFlowForm) is left to go-yaml.
	for i := strings.IndexByte(v, ':'); i >= 0; i = strings.IndexByte(v, ':') {
		if !inMap || !strings.HasPrefix(v[i:], "://") {
			return false
		}
		v = v[i+3:]
	}
	return true
}

// MaxBlockEntries bounds the entries of one block mapping or sequence in a
// document flowForm cannot rewrite, which go-yaml parses in time growing
// with the square of that number. Documents in the plain form have no
// such bound.
const MaxBlockEntries = 1000

// checkBlockSizes refuses a document with a block collection of more than
// MaxBlockEntries entries, counting lines that start at the same
// indentation under the same parent (an over-count for block scalars,
// which is harmless at this size).
func checkBlockSizes(name string, data []byte) error {
	type level struct{ indent, entries int }
	var stack []level
	for n, raw := range strings.Split(string(data), "\n") {
		body := strings.TrimLeft(raw, " ")
		if body == "" || body[0] == '#' {
			continue
		}
		indent := len(raw) - len(body)
		for len(stack) > 0 && stack[len(stack)-1].indent > indent {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 || stack[len(stack)-1].indent < indent {
			stack = append(stack, level{indent: indent})
		}
		top := &stack[len(stack)-1]
		if top.entries++; top.entries > MaxBlockEntries {
			return &Error{Path: name, Line: n + 1, Msg: fmt.Sprintf("more than %d entries at this level: write a long mapping as plain key: value lines (no anchors, tags, block scalars or comments after quotes)", MaxBlockEntries)}
		}
	}
	return nil
}

// closesAtEnd reports whether the quoted string v (opening with q) ends
// exactly at its last byte; two quotes in a row inside single quotes are
// one quote character.
func closesAtEnd(v string, q byte) bool {
	for i := 1; i < len(v); i++ {
		switch {
		case v[i] == q && q == '\'' && i+1 < len(v) && v[i+1] == '\'':
			i++
		case v[i] == q:
			return i == len(v)-1
		}
	}
	return false
}

// balancedFlow reports whether the flow collection v closes exactly at its
// end, with no quotes (which could hide brackets) inside.
func balancedFlow(v string) bool {
	if strings.ContainsAny(v, `"'#&*!|>%@`+"`") {
		return false
	}
	depth := 0
	for i := 0; i < len(v); i++ {
		// Only "key: value" colons: go-yaml reads a bare ':' differently
		// nested in a flow mapping than at block level (FuzzFlowForm).
		if v[i] == ':' && (i+1 == len(v) || v[i+1] != ' ' || strings.IndexByte(" [{,:", v[i-1]) >= 0) {
			return false
		}
		switch v[i] {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return i == len(v)-1
			}
			if depth < 0 {
				return false
			}
		}
	}
	return false
}
