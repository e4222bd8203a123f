package flow

import (
	"regexp"
	"strings"
)

// Change is one commit as release notes show it.
type Change struct {
	// Hash is the short commit name.
	Hash string
	// Type is the Conventional Commits type in lower case ("feat", "fix",
	// "docs", …); empty for a subject that is not Conventional.
	Type string
	// Scope is the text between the type's parentheses; empty when none.
	Scope string
	// Description is the subject after "type(scope)!: ", or the whole
	// subject of a commit that is not Conventional.
	Description string
	// Subject is the commit's first line as written.
	Subject string
	// Breaking is set by "!" after the type or a BREAKING CHANGE footer.
	Breaking bool
	// BreakingNote is the text of the BREAKING CHANGE footer, if any.
	BreakingNote string
}

// conventionalParts splits a Conventional Commits subject: type, (scope),
// "!" and the description.
var conventionalParts = regexp.MustCompile(`^([A-Za-z]+)(?:\(([^()\r\n]*)\))?(!)?: (\S.*)$`)

// bumpSubject matches the subjects of the commits flow makes itself: a
// start's version bump and a finish's changelog update. Release notes
// leave these out, as they leave out merges.
var bumpSubject = regexp.MustCompile(`^(Bump version to|Update the changelog for) \S+$`)

// maxNoteLen bounds one line of release notes taken from a commit.
const maxNoteLen = 300

// ParseCommit reads one commit message for release notes. ok is false for
// a commit the notes leave out (a version bump); a message that is not
// Conventional is kept, with an empty Type, so it lands under Other.
func ParseCommit(hash, message string) (c Change, ok bool) {
	c = parseChange(hash, message)
	if bumpSubject.MatchString(c.Subject) {
		return Change{}, false
	}
	return c, true
}

// parseChange reads a commit message by the Conventional Commits grammar,
// for the notes and for CommitBump alike.
func parseChange(hash, message string) Change {
	message = strings.ReplaceAll(message, "\r\n", "\n")
	subject, body, _ := strings.Cut(strings.TrimLeft(message, "\n"), "\n")
	subject = oneLine(subject)
	c := Change{Hash: hash, Subject: subject, Description: subject}
	if m := conventionalParts.FindStringSubmatch(subject); m != nil {
		c.Type, c.Scope, c.Breaking, c.Description = strings.ToLower(m[1]), strings.TrimSpace(m[2]), m[3] == "!", m[4]
	}
	for _, line := range strings.Split(body, "\n") {
		for _, key := range []string{"BREAKING CHANGE:", "BREAKING-CHANGE:"} {
			if note, found := strings.CutPrefix(line, key); found {
				c.Breaking = true
				if c.BreakingNote == "" {
					c.BreakingNote = oneLine(note)
				}
			}
		}
	}
	return c
}

// oneLine trims s and cuts it to maxNoteLen, so one commit cannot swamp
// the notes.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxNoteLen {
		cut := maxNoteLen
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
