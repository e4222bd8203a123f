package redact

import (
	"bytes"
	"strings"
	"testing"
)

// writeIn writes text to a redacting writer in pieces cut at the given
// offsets, closes it and returns what came out.
func writeIn(t *testing.T, s *Secrets, text string, cuts ...int) string {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(&out, s)
	prev := 0
	for _, c := range append(cuts, len(text)) {
		c = min(max(c, prev), len(text))
		if n, err := w.Write([]byte(text[prev:c])); err != nil || n != c-prev {
			t.Fatalf("write %q: %d, %v", text[prev:c], n, err)
		}
		prev = c
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestWriterRedactsTheStream(t *testing.T) {
	pem := "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAQEFAASCBKcwggSjAgEAAoIB\n-----END KEY-----\n"
	for _, tc := range []struct {
		name    string
		secrets []string
		text    string
		cuts    []int
		want    string
	}{
		{"one write", []string{"hunter2"}, "pw=hunter2\n", nil, "pw=***\n"},
		{"split across writes", []string{"hunter2"}, "pw=hunter2\n", []int{5, 7}, "pw=***\n"},
		{"split byte by byte", []string{"hunter2"}, "hunter2hunter2", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, "******"},
		{"secret with a newline", []string{"abc\ndef"}, "x abc\ndef y\n", []int{5}, "x *** y\n"},
		{"multi-line value whole", []string{pem}, "key:\n" + pem + "done\n", []int{30, 31, 60}, "key:\n***done\n"},
		{"multi-line value, one line printed", []string{pem}, "line MIIEvQIBADANBgkqhkiG9w0B\n", []int{9}, "line ***\n"},
		{"multi-line value, CRLF endings", []string{pem}, strings.ReplaceAll(pem, "\n", "\r\n"), nil,
			"***\r\n***\r\n***\r\n***\r\n"},
		{"trailing newline trimmed", []string{"tok-123456\n"}, "token tok-123456 end", nil, "token *** end"},
		{"longest first", []string{"abc", "abcdef"}, "abcdef abc abcd", []int{2, 4}, "*** *** ***d"},
		{"prefix held back then released", []string{"secret"}, "secre", []int{3}, "secre"},
		{"too short to redact", []string{"ab"}, "abab", nil, "abab"},
		{"no secrets", nil, "plain", []int{2}, "plain"},
		{"overlapping occurrence", []string{"aba"}, "ababa", []int{1, 3}, "***ba"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.secrets...)
			if got := writeIn(t, s, tc.text, tc.cuts...); got != tc.want {
				t.Errorf("written in pieces: %q, want %q", got, tc.want)
			}
			if got := s.String(tc.text); got != tc.want {
				t.Errorf("String: %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWriterHoldsBackOnlyAPossibleStart(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, New("hunter2"))
	w.Write([]byte("line one\nhun"))
	if out.String() != "line one\n" {
		t.Errorf("before the rest arrives: %q, want everything but the possible start", out.String())
	}
	w.Write([]byte("gry\n"))
	if out.String() != "line one\nhungry\n" {
		t.Errorf("after: %q", out.String())
	}
	w.Close()
	if _, err := w.Write([]byte("late")); err != ErrClosed {
		t.Errorf("write after close: %v", err)
	}
}

// FuzzWriter checks, whatever the secrets, the text and the write
// boundaries, that no secret reaches the output and that the output does
// not depend on how the text was cut.
func FuzzWriter(f *testing.F) {
	f.Add("hunter2", "x\nline-two", "pw=hunter2 and x\nline-two\n", uint64(0x0305))
	f.Add("aaa", "aab", "aaaab aab aaaaaa", uint64(0x010101))
	f.Add("-----BEGIN-----\nABCDEFGHIJ\n-----END-----", "zz", "ABCDEFGHIJ\r\n", uint64(7))
	f.Fuzz(func(t *testing.T, s1, s2, text string, cutSeed uint64) {
		var values []string
		for _, v := range []string{s1, s2} {
			if !strings.Contains(v, "*") { // the mask itself could complete one
				values = append(values, v)
			}
		}
		s := New(values...)
		var cuts []int
		for pos, seed := 0, cutSeed; seed != 0 && pos < len(text); seed >>= 4 {
			pos += int(seed & 0xf)
			cuts = append(cuts, pos)
		}
		got := writeIn(t, s, text, cuts...)
		if whole := s.String(text); got != whole {
			t.Fatalf("cut at %v: %q; in one piece: %q", cuts, got, whole)
		}
		for _, v := range s.values {
			if strings.Contains(got, v) {
				t.Fatalf("secret %q reached the output %q (cuts %v)", v, got, cuts)
			}
		}
	})
}
