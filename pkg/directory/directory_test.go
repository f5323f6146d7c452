package directory

import (
	"strings"
	"testing"
)

func TestParseKindReadsExactlyTheNames(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Kind
		ok   bool
	}{
		{"resource-directory", ResourceDirectory, true},
		{"aws-organizations", AWSOrganizations, true},
		{"AWS-Organizations", Kind{}, false},
		{"organizations", Kind{}, false},
		{"", Kind{}, false},
	} {
		got, err := ParseKind(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseKind(%q) = %+v, %v; want %+v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), Accepted) {
			t.Errorf("ParseKind(%q): %v does not say what is accepted", tc.in, err)
		}
	}
	if Default() != ResourceDirectory || Kinds()[0] != Default() {
		t.Error("the default is not Resource Directory, listed first")
	}
}

func TestIsAccountIDIsTheDirectorysLength(t *testing.T) {
	for _, tc := range []struct {
		k    Kind
		in   string
		want bool
	}{
		{ResourceDirectory, "1234567890123456", true},
		{ResourceDirectory, "123456789012", false},
		{AWSOrganizations, "123456789012", true},
		{AWSOrganizations, "1234567890123456", false},
		{AWSOrganizations, "12345678901a", false},
		{AWSOrganizations, "", false},
	} {
		if got := tc.k.IsAccountID(tc.in); got != tc.want {
			t.Errorf("%s.IsAccountID(%q) = %v", tc.k.Name, tc.in, got)
		}
	}
	if f := AWSOrganizations.AccountIDForm(); f != "a 12-digit account ID" {
		t.Errorf("AccountIDForm = %q", f)
	}
}
