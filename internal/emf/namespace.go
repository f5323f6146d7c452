package emf

import (
	"fmt"
	"regexp"
)

// The rule for the namespace of the metrics, CloudWatch's for a custom
// namespace: 1 to MaxNamespaceLen characters, each an ASCII letter or digit,
// '.', '_', '-', '/', '#', ':' or a space; no space first or last; not
// starting with "AWS/" (AWS's own namespaces, which CloudWatch refuses).
//
// NamespacePattern is that rule but the length, as one regular expression
// that Go's regexp, Java's (CloudFormation's AllowedPattern) and Python's
// (cfn-lint) read alike: no look-ahead, so "not AWS/" is spelt out by its
// first four characters. template.yaml's MetricsNamespace parameter carries
// this pattern and MaxNamespaceLen as its MaxLength (internal/deploytest
// checks both), so a deploy refuses what the function would refuse at
// start-up.
var NamespacePattern = namespacePattern()

// MaxNamespaceLen is CloudWatch's limit on a namespace (the embedded metric
// format's own schema allows 1024, which CloudWatch would not store).
const MaxNamespaceLen = 255

var namespaceRe = regexp.MustCompile(NamespacePattern)

func namespacePattern() string {
	// Each set is the allowed characters but the space, '-' and one
	// excluded character; class adds '-', and the space when asked.
	sets := map[string]string{
		"":  `0-9A-Za-z._/#:`,
		"A": `0-9B-Za-z._/#:`,
		"W": `0-9A-VX-Za-z._/#:`,
		"S": `0-9A-RT-Za-z._/#:`,
		"/": `0-9A-Za-z._#:`,
	}
	class := func(space bool, not string) string {
		if space {
			return "[" + sets[not] + " -]" // '-' last: a literal
		}
		return "[" + sets[not] + "-]"
	}
	anyChar, last := class(true, ""), class(false, "")
	// After the first part, which rules out AWS/, the rest is one more
	// character that is not the next of "AWS/", or several ending in a
	// non-space.
	branch := func(prefix, not string) string {
		return prefix + "(?:" + class(false, not) + "|" + class(true, not) + anyChar + "*" + last + ")?"
	}
	return "^(?:" +
		class(false, "A") + "(?:" + anyChar + "*" + last + ")?" + // not starting with A
		"|" + branch("A", "W") + // A alone, or A and not W
		"|" + branch("AW", "S") + // AW alone, or AW and not S
		"|" + branch("AWS", "/") + // AWS alone, or AWS and not /
		")$"
}

// ValidNamespace checks ns against the rule above.
func ValidNamespace(ns string) error {
	if ns == "" || len(ns) > MaxNamespaceLen || !namespaceRe.MatchString(ns) {
		return fmt.Errorf("namespace %q: %s", ns, NamespaceRule)
	}
	return nil
}

// NamespaceRule says, in errors, what a namespace may be.
const NamespaceRule = "want a CloudWatch namespace: 1 to 255 of letters, digits, space and ._-/#:, no space first or last, not starting with AWS/ (reserved for AWS)"
