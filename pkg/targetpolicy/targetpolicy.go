// Package targetpolicy is the target policy of a sweep: which targets an
// invitation may be sent to (ALLOWED_TARGETS).
//
// A Policy is a list of patterns. A pattern is one of:
//
//   - an account ID of the policy's directory (as long as its
//     directory.Kind.AccountIDDigits says), matched exactly against
//     invitations of target type Account; an ID of the wrong length is
//     refused, naming the form the directory expects;
//   - an e-mail address, matched against invitations of target type Email;
//   - an e-mail pattern with * wildcards, such as *@example.com or
//     *@*.example.com.
//
// Matching ignores case. In the local part (before the @) a * matches any run
// of characters, none included. In the domain a * stands for whole labels
// only (*.example.com, not *example.com, which would also match
// evilexample.com): it matches one or more labels, so *@*.example.com matches
// a@mail.example.com and a@eu.mail.example.com but not a@example.com (list
// *@example.com as well for that). A target that is not a well-formed account
// ID or address matches nothing, so a policy never lets through what it
// cannot read.
//
// The zero Policy is empty: no target policy, every target allowed.
package targetpolicy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// Limits of a policy.
const (
	// MaxPatterns bounds the patterns of one policy.
	MaxPatterns = 100
	// MaxPatternBytes bounds one pattern: the longest e-mail address SMTP
	// allows.
	MaxPatternBytes = 254
)

// Accepted says, in errors, what a pattern of a policy for directory k may
// be.
func Accepted(k directory.Kind) string {
	return "want " + k.AccountIDForm() + ", an e-mail address, or an e-mail pattern with * wildcards such as *@example.com or *@*.example.com"
}

// Label wildcards, as pattern.labels holds them. Neither can be a label: a
// pattern's labels hold no ? and no *.
const (
	oneLabel  = "?"
	anyLabels = "**"
)

// pattern is one validated pattern of a Policy.
type pattern struct {
	account string   // an account ID; empty for an e-mail pattern
	local   string   // lower case; may hold *
	labels  []string // the domain's labels, lower case, each * as oneLabel, anyLabels
	text    string   // as written, trimmed
}

// String returns the pattern as it was written.
func (p pattern) String() string { return p.text }

// Policy is a validated list of patterns. Its zero value is the empty policy.
type Policy struct {
	patterns []pattern
}

// Empty reports whether p has no pattern: there is no target policy.
func (p Policy) Empty() bool { return len(p.patterns) == 0 }

// Patterns returns the patterns as written, in order.
func (p Policy) Patterns() []string {
	out := make([]string, len(p.patterns))
	for i, pat := range p.patterns {
		out[i] = pat.text
	}
	return out
}

// String returns the policy as Parse reads it: the patterns joined by commas.
func (p Policy) String() string { return strings.Join(p.Patterns(), ",") }

// Masked returns the policy as String does, but with every e-mail pattern
// that names a person (its local part is not just *) masked as MaskTarget
// does: for a start-up log line without LOG_TARGETS=true.
func (p Policy) Masked() string {
	out := make([]string, len(p.patterns))
	for i, pat := range p.patterns {
		out[i] = pat.text
		if pat.account == "" && pat.local != "*" {
			out[i] = MaskTarget(pat.text)
		}
	}
	return strings.Join(out, ",")
}

// PatternError is a pattern that is not one of the accepted forms.
type PatternError struct {
	Pattern   string         // as written, unbounded: quote it before showing it
	Why       string         // what is wrong with it
	Directory directory.Kind // the directory the policy is for
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("pattern %s %s: %s", handshake.Quote(e.Pattern, 80), e.Why, Accepted(e.Directory))
}

// Parse reads a comma-separated list of patterns for directory k, as
// ALLOWED_TARGETS holds it. Blanks around a pattern are ignored, and so are
// empty items (a trailing comma). An empty or blank list is the empty
// Policy; a list of only separators (",,,") is refused with ErrNoPattern
// rather than read as no policy, which the writer cannot have meant.
// Otherwise the error is a
// *PatternError naming the first bad pattern.
func Parse(list string, k directory.Kind) (Policy, error) {
	var items []string
	for it := range strings.SplitSeq(list, ",") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, it)
		}
	}
	if len(items) == 0 && strings.TrimSpace(list) != "" {
		return Policy{}, fmt.Errorf("%w; %s", ErrNoPattern, Accepted(k))
	}
	return New(items, k)
}

// ErrNoPattern is the error of a list that holds separators but no pattern.
var ErrNoPattern = errors.New("holds separators but no pattern: name at least one pattern, or leave ALLOWED_TARGETS empty for no target policy")

// New validates patterns for directory k, one per element, as a payload's
// "allowedTargets" holds them; an element may not be empty or hold a comma.
func New(patterns []string, k directory.Kind) (Policy, error) {
	if len(patterns) > MaxPatterns {
		return Policy{}, fmt.Errorf("%d patterns, more than the limit of %d: use wildcards such as *@example.com", len(patterns), MaxPatterns)
	}
	var p Policy
	for _, s := range patterns {
		pat, err := parsePattern(s, k)
		if err != nil {
			return Policy{}, err
		}
		p.patterns = append(p.patterns, pat)
	}
	return p, nil
}

// parsePattern validates one pattern. Blanks around it are ignored.
func parsePattern(s string, k directory.Kind) (pattern, error) {
	t := strings.TrimSpace(s)
	bad := func(why string) (pattern, error) { return pattern{}, &PatternError{Pattern: s, Why: why, Directory: k} }
	switch {
	case t == "":
		return bad("is empty")
	case len(t) > MaxPatternBytes:
		return bad(fmt.Sprintf("is %d bytes, over the limit of %d", len(t), MaxPatternBytes))
	case !utf8.ValidString(t):
		return bad("is not valid UTF-8")
	}
	if t == "*" {
		return bad("would allow every target: leave ALLOWED_TARGETS empty for no target policy")
	}
	if isDigits(t) {
		if !k.IsAccountID(t) {
			return bad(fmt.Sprintf("has %d digits: an account ID of %s has %d", len(t), k.Name, k.AccountIDDigits))
		}
		return pattern{account: t, text: t}, nil
	}
	for _, r := range t {
		switch {
		case r == ',':
			return bad("holds a comma: give one pattern per item")
		case r == '?' || r == '[' || r == ']' || r == '\\':
			return bad(fmt.Sprintf("holds %q: the only wildcard is *", r))
		case r <= ' ' || r == 0x7f || r == '"' || r == '<' || r == '>' || r == '(' || r == ')' || r == ';':
			return bad(fmt.Sprintf("holds %q, which an e-mail address cannot", r))
		}
	}
	at := strings.IndexByte(t, '@')
	switch {
	case at < 0:
		if strings.Trim(t, "0123456789*") == "" {
			return bad(fmt.Sprintf("is not an account ID: an account ID of %s is exactly %d digits, without wildcards", k.Name, k.AccountIDDigits))
		}
		return bad("is neither an account ID nor an e-mail address (no @)")
	case strings.Count(t, "@") > 1:
		return bad("holds more than one @")
	}
	local, domain := strings.ToLower(t[:at]), strings.ToLower(t[at+1:])
	if local == "" {
		return bad("has nothing before the @ (write *@example.com for any address of a domain)")
	}
	if domain == "" {
		return bad("has nothing after the @")
	}
	for label := range strings.SplitSeq(domain, ".") {
		switch {
		case label == "":
			return bad("has an empty label in its domain (two dots, or a dot at an end)")
		case label != "*" && strings.Contains(label, "*"):
			return bad(fmt.Sprintf("has %q in its domain: a * there stands for whole labels only, as in *.example.com (*example.com would also match evilexample.com)", label))
		}
	}
	if d := strings.Split(domain, "."); len(d) < 2 || d[len(d)-1] == "*" || d[len(d)-2] == "*" {
		return bad("leaves the domain open: its last two labels must be written out (*@example.com, *@*.example.com); *@* or *@*.com would allow addresses nobody in the organization owns")
	}
	var labels []string
	for label := range strings.SplitSeq(domain, ".") {
		if label == "*" {
			// A * label stands for one or more labels.
			labels = append(labels, oneLabel, anyLabels)
		} else {
			labels = append(labels, label)
		}
	}
	return pattern{local: local, labels: labels, text: t}, nil
}

// Allowed reports whether an invitation to entity, of target type tt, is
// allowed: the policy is empty, or a pattern matches. An account ID pattern
// matches only Account targets, an e-mail pattern only Email targets; a
// target of any other type, or not well formed, matches nothing.
func (p Policy) Allowed(tt handshake.TargetType, entity string) bool {
	if p.Empty() {
		return true
	}
	for _, pat := range p.patterns {
		if pat.match(tt, entity) {
			return true
		}
	}
	return false
}

func (pat pattern) match(tt handshake.TargetType, entity string) bool {
	switch {
	case strings.EqualFold(string(tt), string(handshake.TargetAccount)):
		return pat.account != "" && entity == pat.account
	case !strings.EqualFold(string(tt), string(handshake.TargetEmail)) || pat.account != "":
		return false
	}
	at := strings.IndexByte(entity, '@')
	if at <= 0 || at == len(entity)-1 || strings.Count(entity, "@") != 1 {
		return false
	}
	local, domain := strings.ToLower(entity[:at]), strings.ToLower(entity[at+1:])
	labels := strings.Split(domain, ".")
	if slices.Contains(labels, "") {
		return false
	}
	// No pattern holds a NUL (parsePattern refuses control characters), so
	// it stands for "one byte" nowhere in the local part.
	return glob([]byte(pat.local), []byte(local), '*', 0) && glob(pat.labels, labels, anyLabels, oneLabel)
}

// glob matches s against pattern, element by element: star matches any run
// of elements (none included), one matches exactly one, and every other
// element matches itself. It backtracks only to the last star, so it takes
// at most len(pattern)*len(s) steps whatever the input.
func glob[T comparable](pattern, s []T, star, one T) bool {
	p, i := 0, 0
	lastStar, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == star:
			lastStar, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == one || pattern[p] == s[i]):
			p++
			i++
		case lastStar >= 0:
			p = lastStar + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == star {
		p++
	}
	return p == len(pattern)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isAccountID reports whether s is an account ID of any directory.
func isAccountID(s string) bool {
	for _, k := range directory.Kinds() {
		if k.IsAccountID(s) {
			return true
		}
	}
	return false
}

// MaskTarget returns an invitation's target as a log line or a report may
// show it without LOG_TARGETS=true. An account ID (of any directory) is
// not personal data and is shown as it is. Anything else is treated as an e-mail address, which is:
// the first character of its local part, then *** whatever the length (so
// the length is not revealed), then the domain, which a policy decides on and
// an audit needs: j***@example.com, in lower case. The form is stable (the same
// address, in any case, always reads the same) but keyed on nothing secret, so it cannot be
// reversed; it carries no hash, because a hash of an address is easily
// reversed by trying addresses and would still be personal data. Something
// with no @ shows as ***.
func MaskTarget(entity string) string {
	if isAccountID(entity) {
		return entity
	}
	// Addresses compare without case, so they are masked without it: one
	// person reads the same in every line.
	entity = strings.ToLower(entity)
	at := strings.LastIndexByte(entity, '@')
	if at <= 0 {
		return "***"
	}
	r, _ := utf8.DecodeRuneInString(entity)
	if r == utf8.RuneError {
		return "***" + entity[at:]
	}
	return string(r) + "***" + entity[at:]
}
