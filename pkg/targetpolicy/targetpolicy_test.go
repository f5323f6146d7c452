package targetpolicy

import (
	"errors"
	"strings"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

const (
	account = handshake.TargetAccount
	email   = handshake.TargetEmail
)

func TestAllowed(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		tt     handshake.TargetType
		entity string
		want   bool
	}{
		{"empty policy allows every target", "", email, "anyone@anywhere.org", true},
		{"empty policy allows an account", "", account, "9999999999999999", true},

		{"account ID matches exactly", "1234567890123456", account, "1234567890123456", true},
		{"another account ID does not match", "1234567890123456", account, "1234567890123457", false},
		{"account ID does not match an Email target", "1234567890123456", email, "1234567890123456", false},
		{"e-mail pattern does not match an Account target", "*@example.com", account, "1234567890123456", false},
		{"account target spelled in lower case", "1234567890123456", "account", "1234567890123456", true},

		{"exact address", "ceo@example.com", email, "ceo@example.com", true},
		{"exact address, other case", "CEO@Example.COM", email, "ceo@EXAMPLE.com", true},
		{"exact address, another person", "ceo@example.com", email, "cfo@example.com", false},
		{"exact address does not match a longer one", "ceo@example.com", email, "ceo@example.com.evil.org", false},

		{"domain wildcard", "*@example.com", email, "new.hire@example.com", true},
		{"domain wildcard, upper case target", "*@example.com", email, "New.Hire@EXAMPLE.COM", true},
		{"domain wildcard, other domain", "*@example.com", email, "someone@gmail.com", false},
		{"domain wildcard, look-alike domain", "*@example.com", email, "x@evilexample.com", false},
		{"domain wildcard, subdomain not included", "*@example.com", email, "x@mail.example.com", false},
		{"domain wildcard, suffix attack", "*@example.com", email, "x@example.com.evil.org", false},

		{"subdomain wildcard, one label", "*@*.example.com", email, "a@mail.example.com", true},
		{"subdomain wildcard, two labels", "*@*.example.com", email, "a@eu.mail.example.com", true},
		{"subdomain wildcard, the domain itself not included", "*@*.example.com", email, "a@example.com", false},
		{"subdomain wildcard, look-alike", "*@*.example.com", email, "a@mail.evilexample.com", false},
		{"labels at any depth", "*@*.*.example.com", email, "a@b.c.example.com", true},
		{"labels at any depth, not fewer", "*@*.*.example.com", email, "a@c.example.com", false},

		{"local prefix", "j*@example.com", email, "jane@example.com", true},
		{"local prefix matches the bare prefix", "j*@example.com", email, "j@example.com", true},
		{"local prefix, other name", "j*@example.com", email, "mary@example.com", false},
		{"local middle wildcard", "ops+*@example.com", email, "ops+alerts@example.com", true},
		{"local wildcard never crosses the @", "a*@example.com", email, "a@evil.com@example.com", false},

		{"second pattern matches", "*@example.com, 1234567890123456", account, "1234567890123456", true},
		{"no pattern matches", "*@example.com,1234567890123456", account, "6543210987654321", false},

		{"target with no @", "*@example.com", email, "example.com", false},
		{"target with an empty local part", "*@example.com", email, "@example.com", false},
		{"target with an empty label", "*@*.example.com", email, "a@mail..example.com", false},
		{"unknown target type", "*@example.com", "ResourceAccount", "a@example.com", false},
		{"empty target type", "1234567890123456", "", "1234567890123456", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.policy, rd)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.policy, err)
			}
			if got := p.Allowed(tc.tt, tc.entity); got != tc.want {
				t.Errorf("Parse(%q).Allowed(%s, %q) = %v, want %v", tc.policy, tc.tt, tc.entity, got, tc.want)
			}
		})
	}
}

func TestParseAcceptsListsAndKeepsPatternsAsWritten(t *testing.T) {
	tests := []struct {
		list string
		want []string
	}{
		{"", nil},
		{"*@example.com", []string{"*@example.com"}},
		{" *@Example.com , 1234567890123456 ,", []string{"*@Example.com", "1234567890123456"}},
		{"a@b.c,*@*.example.com", []string{"a@b.c", "*@*.example.com"}},
	}
	for _, tc := range tests {
		p, err := Parse(tc.list, rd)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.list, err)
		}
		if got := p.Patterns(); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("Parse(%q).Patterns() = %q, want %q", tc.list, got, tc.want)
		}
		if p.Empty() != (len(tc.want) == 0) || len(p.Patterns()) != len(tc.want) {
			t.Errorf("Parse(%q): Empty %v, %d patterns; want %d", tc.list, p.Empty(), len(p.Patterns()), len(tc.want))
		}
		if again, err := Parse(p.String(), rd); err != nil || again.String() != p.String() {
			t.Errorf("Parse(%q).String() = %q does not read back: %v", tc.list, p.String(), err)
		}
	}
}

func TestParseRejectsMalformedPatterns(t *testing.T) {
	tests := []struct {
		list    string
		bad     string // the pattern the error must name
		because string // part of the reason it must give
	}{
		{"12345", "12345", "has 5 digits"},
		{"12345678901234567", "12345678901234567", "has 17 digits"},
		{"123456789012345*", "123456789012345*", "without wildcards"},
		{"*", "*", "every target"},
		{"*@*", "*@*", "last two labels"},
		{"*@*.com", "*@*.com", "last two labels"},
		{"*@example.*", "*@example.*", "last two labels"},
		{"*@localhost", "*@localhost", "last two labels"},
		{"jane@*.*", "jane@*.*", "last two labels"},
		{"example.com", "example.com", "no @"},
		{"a@b@example.com", "a@b@example.com", "more than one @"},
		{"@example.com", "@example.com", "nothing before the @"},
		{"a@", "a@", "nothing after the @"},
		{"*@example..com", "*@example..com", "empty label"},
		{"*@.example.com", "*@.example.com", "empty label"},
		{"*@*example.com", "*@*example.com", "whole labels"},
		{"*@example.*com", "*@example.*com", "whole labels"},
		{"?@example.com", "?@example.com", "the only wildcard is *"},
		{"[a-z]*@example.com", "[a-z]*@example.com", "the only wildcard is *"},
		{"a b@example.com", "a b@example.com", "cannot"},
		{"*@example.com, 1234", "1234", "has 4 digits"},
		{"ok@example.com,bad", "bad", "no @"},
		{strings.Repeat("a", 250) + "@example.com", strings.Repeat("a", 250) + "@example.com", "over the limit"},
		{"a@b.c\xff", "a@b.c\xff", "UTF-8"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.list, rd)
		var pe *PatternError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want a *PatternError", tc.list, err)
			continue
		}
		if strings.TrimSpace(pe.Pattern) != tc.bad || !strings.Contains(err.Error(), tc.because) || !strings.Contains(err.Error(), Accepted(rd)) {
			t.Errorf("Parse(%q): error %q: want it to name %q, say %q and what is accepted", tc.list, err, tc.bad, tc.because)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q): error %q is not one line", tc.list, err)
		}
	}
}

func TestNewRejectsEmptyItemsAndCommas(t *testing.T) {
	for _, items := range [][]string{{""}, {"  "}, {"*@example.com,1234567890123456"}} {
		var pe *PatternError
		if _, err := New(items, rd); !errors.As(err, &pe) {
			t.Errorf("New(%q) = %v, want a *PatternError", items, err)
		}
	}
	many := make([]string, MaxPatterns+1)
	for i := range many {
		many[i] = "*@example.com"
	}
	if _, err := New(many, rd); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("New(%d patterns) = %v, want an error about the limit", len(many), err)
	}
}

func TestMaskTarget(t *testing.T) {
	tests := []struct{ in, want string }{
		{"jane.doe@example.com", "j***@example.com"},
		{"j@example.com", "j***@example.com"},
		{"Jane@Example.com", "j***@example.com"},
		{"JANE@EXAMPLE.COM", "j***@example.com"},
		{"1234567890123456", "1234567890123456"},
		{"123456", "***"},
		{"no-at-sign", "***"},
		{"@example.com", "***"},
		{"émile@example.fr", "é***@example.fr"},
		{"a@b@example.com", "a***@example.com"},
		{"", "***"},
	}
	for _, tc := range tests {
		if got := MaskTarget(tc.in); got != tc.want {
			t.Errorf("MaskTarget(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := MaskTarget(tc.in); got != MaskTarget(tc.in) {
			t.Errorf("MaskTarget(%q) is not stable", tc.in)
		}
	}
}

func TestRedactedPolicyHidesOnlyPersonalPatterns(t *testing.T) {
	p, err := Parse("*@example.com, ceo@example.com, ops+*@example.com, 1234567890123456, *@*.example.com", rd)
	if err != nil {
		t.Fatal(err)
	}
	want := "*@example.com,c***@example.com,o***@example.com,1234567890123456,*@*.example.com"
	if got := p.Masked(); got != want {
		t.Errorf("Redacted() = %q, want %q", got, want)
	}
}

// The matcher backtracks only to the last star, so a hostile pattern and
// target stay cheap; this would not finish with a naive recursive matcher.
func TestAllowedIsLinearOnHostileInput(t *testing.T) {
	p, err := Parse(strings.Repeat("*a", 60)+"@"+strings.Repeat("*.", 60)+"x.com", rd)
	if err != nil {
		t.Fatal(err)
	}
	target := strings.Repeat("a", 64) + "b@" + strings.Repeat("y.", 120) + "z.com"
	if p.Allowed(email, target) {
		t.Errorf("Allowed(%q) = true, want false", target)
	}
}

// rd is the directory most tests parse for.
var rd = directory.ResourceDirectory

// One validation, parameterised by the directory: an account ID of the
// other directory's length is refused, naming the form expected.
func TestAccountIDsTakeTheDirectorysForm(t *testing.T) {
	aws := directory.AWSOrganizations
	for _, tc := range []struct {
		k     directory.Kind
		list  string
		ok    bool
		wants string
	}{
		{aws, "123456789012,*@example.com", true, ""},
		{aws, "1234567890123456", false, "12-digit account ID"},
		{rd, "123456789012", false, "16-digit account ID"},
		{rd, "1234567890123456", true, ""},
		{aws, "12345678901*", false, "exactly 12 digits"},
	} {
		p, err := Parse(tc.list, tc.k)
		if (err == nil) != tc.ok || err != nil && !strings.Contains(err.Error(), tc.wants) {
			t.Errorf("Parse(%q, %s) = %v, want ok %v or an error saying %q", tc.list, tc.k.Name, err, tc.ok, tc.wants)
		}
		if tc.ok && tc.k == aws && !p.Allowed(handshake.TargetAccount, "123456789012") {
			t.Errorf("%q does not allow its own account", tc.list)
		}
	}
	if got := MaskTarget("123456789012"); got != "123456789012" {
		t.Errorf("MaskTarget of an AWS account ID = %q, want it as it is", got)
	}
}

// A list of separators only is refused, not read as no policy; an empty or
// blank list is no policy.
func TestParseRefusesAListOfOnlySeparators(t *testing.T) {
	for _, list := range []string{",", ",,,", " , , ", ",\t,"} {
		if p, err := Parse(list, rd); !errors.Is(err, ErrNoPattern) {
			t.Errorf("Parse(%q) = %v, %v; want ErrNoPattern", list, p, err)
		}
	}
	for _, list := range []string{"", "  "} {
		if p, err := Parse(list, rd); err != nil || !p.Empty() {
			t.Errorf("Parse(%q) = %v, %v; want the empty Policy", list, p, err)
		}
	}
	if p, err := Parse(",*@example.com,", rd); err != nil || p.String() != "*@example.com" {
		t.Errorf("Parse with a stray comma = %v, %v; want the one pattern", p, err)
	}
}
