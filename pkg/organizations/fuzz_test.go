package organizations_test

import (
	"errors"
	"regexp"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/pkg/organizations"
)

// apiPattern is the API reference's pattern of a handshake ID, written
// apart from ParseID so that the two check each other.
var apiPattern = regexp.MustCompile(`^h-[0-9a-z]{8,32}$`)

// FuzzParseIDAgreesWithTheAPIPattern: ParseID accepts exactly what the
// API's pattern matches, and its error is bounded whatever the input (40
// bytes of it quoted, each at most 4 characters once escaped).
func FuzzParseIDAgreesWithTheAPIPattern(f *testing.F) {
	for _, s := range []string{"h-abcdefgh", "h-abcdefg", "h-0123456789abcdefghijklmnopqrstuv", "h-0123456789abcdefghijklmnopqrstuvw",
		"h-ABCDEFGH", "h-abcdefgh\n", "h-Ab12Cd34Ef56Gh78", "", "h-", "h-abcdéfgh", "h-abcdefgh\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := organizations.ParseID(s)
		want := apiPattern.MatchString(s) && s[len(s)-1] != '\n'
		switch {
		case want && (err != nil || string(id) != s):
			t.Fatalf("ParseID(%q) = %q, %v; the pattern matches it", s, id, err)
		case !want && err == nil:
			t.Fatalf("ParseID(%q) accepted what the pattern refuses", s)
		case err != nil && (!errors.Is(err, organizations.ErrInvalidID) || len(err.Error()) > 300):
			t.Fatalf("ParseID(%q): error %q", s, err)
		}
	})
}
