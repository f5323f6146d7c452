package targetpolicy

import (
	"strconv"
	"strings"

	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
)

// ListPattern is what ALLOWED_TARGETS may hold, as one regular expression
// that Go's regexp, Java's (CloudFormation's AllowedPattern) and Python's
// (cfn-lint) read alike: blanks only (no target policy), or 1 to
// MaxPatterns patterns separated by commas, with blanks (spaces, tabs) and
// empty items around them, each pattern one that ParsePattern accepts:
//
//   - an account ID of any directory (directory.Kinds: 16 digits for
//     Resource Directory, 12 for AWS Organizations). The template's
//     parameter cannot depend on its Directory, so the length that fits
//     the deployed directory is checked at start-up;
//   - an e-mail address or pattern: a local part of any characters but
//     blanks, controls, @ and ,?[]\"<>(); (* included), then @ and a domain
//     of dot-separated labels, each * or a run of those characters without
//   - and ., of which at least the last two are written out.
//
// A value of separators only (",,,") is refused: it names no pattern, so
// an operator who meant to set a policy would get none. template.yaml's
// AllowedTargets parameter carries this pattern (internal/deploytest checks
// it and that it agrees with what the function accepts at start-up). The
// pattern does not bound a pattern's length (MaxPatternBytes): that one
// limit is left to the start-up check.
var ListPattern = `^(?:[ \t]*|[ \t,]*` + listItem + `(?:[ \t]*,[ \t,]*` + listItem + `){0,` + strconv.Itoa(MaxPatterns-1) + `}[ \t,]*)$`

var (
	// listItem is one pattern: an account ID, or local@domain. The
	// digits are written out: Go's regexp refuses a counted repeat inside
	// another whose counts multiply past 1000.
	listItem = `(?:` + listAccountIDs() + `|` + listLocal + `@(?:(?:\*|` + listLabel + `)\.)*` + listLabel + `\.` + listLabel + `)`
	// listLocal is a local part: any run of characters an address may
	// hold, * included.
	listLocal = `[^\x00-\x20\x7f,?\[\]\\"<>();@]+`
	// listLabel is a written-out label of a domain: no *, no dot.
	listLabel = `[^\x00-\x20\x7f,?\[\]\\"<>();@*.]+`
)

// listAccountIDs is an alternation of the account IDs of every directory,
// their digits written out.
func listAccountIDs() string {
	var alts []string
	for _, k := range directory.Kinds() {
		alts = append(alts, strings.Repeat(`[0-9]`, k.AccountIDDigits))
	}
	return strings.Join(alts, `|`)
}
