package handshake_test

import (
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// Run with: go test -run '^$' -fuzz '^FuzzParseID$' -fuzztime 30s ./pkg/handshake
// (or `make fuzz`). The seeds below and testdata/fuzz/FuzzParseID run under
// plain go test; a crasher the fuzzer finds is kept there.

// idPattern is an oracle written independently of ParseID: what the README
// says a handshake ID is.
var idPattern = regexp.MustCompile(`^h-[A-Za-z0-9]{16}$`)

// maxErrorLen bounds an invalid-ID error: Quote shows at most 40 bytes of the
// input, each at most 10 bytes once escaped, plus the fixed text.
const maxErrorLen = 600

func FuzzParseID(f *testing.F) {
	for _, s := range []string{
		// Valid, in every case mix; the sample events' IDs.
		"h-ycm4rp0000000000", "h-Ab12Cd34Ef56Gh78", "h-ABCDEFGHIJKLMNOP", "h-0123456789abcdef",
		"h-Zx98Yw76Vu54Ts32", "h-Mn3oPq5rSt7uVw9x", "h-M1ss1ngN0tF0und2",
		// Near misses: length, prefix, separators, blanks.
		"", "h", "h-", "h-Ab12Cd34Ef56Gh7", "h-Ab12Cd34Ef56Gh789", "H-Ab12Cd34Ef56Gh78", "h_Ab12Cd34Ef56Gh78",
		"hAb12Cd34Ef56Gh78x", " h-Ab12Cd34Ef56Gh78", "h-Ab12Cd34Ef56Gh78 ", "h-Ab12Cd34Ef56Gh7\n", "h-Ab12Cd34Ef56G-78",
		// Injection attempts: query, header, path, template, NUL.
		"h-abc&Action=DeleteAccount", "h-Ab12Cd34&Action=", "h-Ab12Cd34Ef56Gh7&", "h-Ab12Cd34Ef56Gh7%", "h-Ab12Cd34Ef56%26A",
		"h-Ab12Cd34Ef56Gh78\r\nX-Acs-Action: DeleteAccount", "h-../../../etc/pas", "h-${jndi:ldap://x}", "h-Ab12Cd34Ef56Gh7\x00",
		// Unicode look-alikes: fullwidth digit, Cyrillic letters, zero-width
		// space, a combining mark, a BOM.
		"h-Ab12Cd34Ef56Gh7８", "h-Аb12Cd34Ef56Gh78", "һ-Ab12Cd34Ef56Gh78", "h‐Ab12Cd34Ef56Gh7", "h-Ab12Cd34Ef56G\u200bh",
		"h-Ab12Cd34Ef56Gh\u0301", "\ufeffh-Ab12Cd34Ef56", "h-Ab12Cd34Ef56Gh\xff\xfe",
		// Long input: the error must stay short.
		"h-" + strings.Repeat("A", 4096), strings.Repeat("\xff", 300),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := handshake.ParseID(s)
		if want := idPattern.MatchString(s); (err == nil) != want {
			t.Fatalf("ParseID(%q) error %v, but the pattern h-[A-Za-z0-9]{16} says valid=%v", s, err, want)
		}
		if err != nil {
			if id != "" {
				t.Fatalf("ParseID(%q) = %q with error %v, want the zero ID", s, id, err)
			}
			if !errors.Is(err, handshake.ErrInvalidID) {
				t.Fatalf("ParseID(%q) error %v does not wrap ErrInvalidID", s, err)
			}
			if msg := err.Error(); len(msg) > maxErrorLen {
				t.Fatalf("error for a %d-byte input is %d bytes long, want at most %d", len(s), len(msg), maxErrorLen)
			}
			checkPrintable(t, err.Error())
			return
		}
		if id.String() != s {
			t.Fatalf("ParseID(%q) = %q, want the input unchanged", s, id)
		}
		// A valid ID needs no escaping anywhere it goes: a query string, a
		// header, a log line. That is what makes passing it to the API safe.
		if url.QueryEscape(s) != s || url.PathEscape(s) != s {
			t.Fatalf("valid ID %q changes when escaped", s)
		}
		if again, err := handshake.ParseID(id.String()); err != nil || again != id {
			t.Fatalf("ParseID(ParseID(%q)) = %q, %v", s, again, err)
		}
	})
}

// checkPrintable asserts that msg, which quotes hostile input, is one
// printable line of valid UTF-8: it cannot forge a log line, a header or a
// response.
func checkPrintable(t *testing.T, msg string) {
	t.Helper()
	if !utf8.ValidString(msg) {
		t.Fatalf("%q is not valid UTF-8", msg)
	}
	for _, r := range msg {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			t.Fatalf("%q holds the control character %U", msg, r)
		}
	}
}

// FuzzQuote checks what every error about hostile input relies on:
// Quote's output is one printable line, bounded by max, and reads back as a
// prefix of its input.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "plain", "h-abc&Action=x", "line\nbreak", "\xff\xfe", "é", strings.Repeat("é", 100), strings.Repeat("x", 1000)} {
		f.Add(s, 40)
	}
	f.Add("abc", 0)
	f.Add("\u2028\u2029\x1b[31m", 64)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<12 {
			return // callers pass small constants; a negative bound is a programming error
		}
		q := handshake.Quote(s, max)
		// strconv.Quote writes at most 10 bytes per 4-byte rune and 4 per
		// byte; the "... (N bytes)" suffix is short.
		if limit := 4*max + 2 + 40; len(q) > limit {
			t.Fatalf("Quote(%d bytes, %d) is %d bytes, want at most %d", len(s), max, len(q), limit)
		}
		checkPrintable(t, q)
		quoted, rest := q, ""
		if len(s) > max {
			var ok bool
			quoted, rest, ok = strings.Cut(q, "... (")
			if !ok || rest != strconv.Itoa(len(s))+" bytes)" {
				t.Fatalf("Quote(%d bytes, %d) = %q, want the quoted prefix and \"... (%d bytes)\"", len(s), max, q, len(s))
			}
		}
		back, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatalf("Quote(%q, %d) = %q: does not unquote: %v", s, max, q, err)
		}
		if !strings.HasPrefix(s, back) || len(back) > max {
			t.Fatalf("Quote(%q, %d) = %q reads back as %q, want a prefix of at most %d bytes", s, max, q, back, max)
		}
		if len(s) <= max && back != s {
			t.Fatalf("Quote(%q, %d) = %q, want all of it", s, max, q)
		}
	})
}
