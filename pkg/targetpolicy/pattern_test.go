package targetpolicy

import (
	"regexp"
	"strings"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
)

// listAccepted is what the start-up check accepts, whatever the Directory
// (the template's parameter serves every one): Parse succeeds once each
// account ID of some directory's length stands for one of the default
// directory's, and a value that is not blank names at least one pattern.
func listAccepted(s string) bool {
	items := strings.Split(s, ",")
	for i, it := range items {
		t := strings.Trim(it, " \t")
		for _, k := range directory.Kinds() {
			if k.IsAccountID(t) {
				items[i] = strings.Repeat("1", directory.ResourceDirectory.AccountIDDigits)
			}
		}
	}
	p, err := Parse(strings.Join(items, ","), rd)
	return err == nil && (!p.Empty() || strings.TrimSpace(s) == "")
}

// listCorpus is every kind of value ParsePattern tells apart, alone and in
// lists, within MaxPatternBytes per pattern.
func listCorpus() []string {
	items := []string{
		"1234567890123456", "123456789012345", "12345678901234567", "123456789012", "12345678901", "1234567890123", "1234*", "*",
		"*@example.com", "*@*.example.com", "ceo@example.com", "CEO@Example.COM", "a*b@x.y", "a.b@x.y.z",
		"a@*.*.example.com", "a@b.*.c", "a@*.com", "a@*", "*@*", "a@example", "a@b..c", "a@.b.c", "a@b.c.",
		"@example.com", "a@", "a@@b.c", "a@b@c.d", "a@x*.y.z", "a@*x.y.z", "a?@x.y", "a[1]@x.y", `a\b@x.y`,
		`"a"@x.y`, "a<b>@x.y", "a(b)@x.y", "a;b@x.y", "a\x7f@x.y", "ä@bücher.de", "a@b.c\x01",
		"a\u00a0b@x.y", "no-at-sign", "a b@x.y",
	}
	var out []string
	for _, it := range items {
		out = append(out, it, " "+it+" ", it+",", ","+it, "\t"+it+" ,, ", it+", *@example.com", "1234567890123456,"+it)
	}
	out = append(out, "", " ", "\t", ",", ",,,", " , ", "a@x.y,,b@x.y", "a@x.y b@x.y", "a@x.y;b@x.y",
		strings.Repeat("a@x.y,", 100), strings.Repeat("a@x.y,", 101), strings.Repeat("1234567890123456, ", 99)+"1234567890123456")
	return out
}

// The pattern accepts exactly what the start-up check accepts, on every
// value of the corpus.
func TestListPatternAgreesWithParse(t *testing.T) {
	re := regexp.MustCompile(ListPattern)
	var accepted, refused int
	for _, s := range listCorpus() {
		got, want := re.MatchString(s), listAccepted(s)
		if got != want {
			t.Errorf("ListPattern matches %q = %v, the start-up check accepts = %v", s, got, want)
		}
		if want {
			accepted++
		} else {
			refused++
		}
	}
	if accepted < 20 || refused < 20 {
		t.Fatalf("%d accepted, %d refused: the corpus does not test both ways", accepted, refused)
	}
}

// The one limit the pattern leaves to the start-up check.
func TestListPatternDoesNotBoundAPatternsLength(t *testing.T) {
	long := strings.Repeat("a", MaxPatternBytes) + "@example.com"
	if listAccepted(long) {
		t.Fatalf("Parse accepts a pattern of %d bytes", len(long))
	}
	if !regexp.MustCompile(ListPattern).MatchString(long) {
		t.Error("ListPattern now refuses an over-long pattern: update its comment and the deploy docs' known limit")
	}
}
