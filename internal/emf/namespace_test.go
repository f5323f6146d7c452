package emf

import (
	"regexp"
	"strings"
	"testing"
)

// plainNamespaceRule is the rule of ValidNamespace written the obvious
// way, to check the regular expression against.
func plainNamespaceRule(ns string) bool {
	if ns == "" || len(ns) > MaxNamespaceLen || strings.HasPrefix(ns, "AWS/") ||
		ns[0] == ' ' || ns[len(ns)-1] == ' ' {
		return false
	}
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._-/#: ", c) >= 0) {
			return false
		}
	}
	return true
}

// Every string up to five characters over an alphabet that holds each
// character the pattern treats apart (A, W, S, /, space), an allowed one
// and a refused one: the pattern and the plain rule agree on all of them.
func TestNamespacePatternAgreesWithThePlainRuleOnEveryShortString(t *testing.T) {
	const alphabet = "AWS/ x$a"
	var n, accepted int
	var walk func(prefix string)
	walk = func(prefix string) {
		if prefix != "" {
			n++
			got, want := ValidNamespace(prefix) == nil, plainNamespaceRule(prefix)
			if got != want {
				t.Errorf("ValidNamespace(%q) accepts = %v, the plain rule says %v (pattern %s)", prefix, got, want, NamespacePattern)
			}
			if got {
				accepted++
			}
		}
		if len(prefix) == 5 {
			return
		}
		for _, c := range alphabet {
			walk(prefix + string(c))
		}
	}
	walk("")
	if accepted == 0 || accepted == n {
		t.Fatalf("%d of %d accepted: the walk proves nothing", accepted, n)
	}
}

func TestValidNamespaceExamples(t *testing.T) {
	for ns, ok := range map[string]bool{
		"HandshakeJanitor":                   true,
		"Team/Janitor #2":                    true,
		"a":                                  true,
		"AWS":                                true,
		"AWSx/y":                             true,
		"AWS-Team/x":                         true,
		"aws/lower":                          true,
		"AWS/":                               false,
		"AWS/Lambda":                         false,
		"":                                   false,
		" lead":                              false,
		"trail ":                             false,
		"tab\tin":                            false,
		"é":                                  false,
		strings.Repeat("n", 255):             true,
		strings.Repeat("n", 256):             false,
		"Custom/" + strings.Repeat("x", 248): true,
	} {
		if got := ValidNamespace(ns) == nil; got != ok {
			t.Errorf("ValidNamespace(%q) accepts = %v, want %v", ns, got, ok)
		}
	}
	if err := ValidNamespace("AWS/Lambda"); err == nil || !strings.Contains(err.Error(), "AWS/") {
		t.Errorf("ValidNamespace(AWS/Lambda) = %v, want an error naming AWS/", err)
	}
}

// CloudFormation reads AllowedPattern as a Java regular expression and
// cfn-lint as a Python one: the pattern uses only what all three share
// (anchors, groups, bracket classes of literals and ranges, ?, *).
func TestNamespacePatternUsesOnlyPortableSyntax(t *testing.T) {
	if m := regexp.MustCompile(`\(\?[^:]|\\[a-zA-Z]|\{`).FindString(NamespacePattern); m != "" {
		t.Errorf("NamespacePattern holds %q, which not every engine reads alike: %s", m, NamespacePattern)
	}
}
