package trigger

import (
	"errors"
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"strings"
	"testing"

	"github.com/handshake-janitor/handshake-janitor/pkg/targetpolicy"
)

func TestParseAllowedTargets(t *testing.T) {
	p, err := parseAllowedTargets([]byte(` ["*@example.com", "1234567890123456"] `), directory.ResourceDirectory)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.String(); got != "*@example.com,1234567890123456" {
		t.Errorf("policy = %q, want the two patterns in order", got)
	}
	for _, tc := range []struct {
		raw, want string
	}{
		{`[]`, "is empty"},
		{`"*@example.com"`, "want an array of target patterns"},
		{`[1234567890123456]`, "want an array of target patterns"},
		{`{"a":1}`, "want an array of target patterns"},
		{`["*@example.com", "12345"]`, `pattern "12345"`},
		{`["*@example.com,1234567890123456"]`, "holds a comma"},
		{`[""]`, "is empty"},
		{`["*@*example.com"]`, "whole labels"},
	} {
		_, err := parseAllowedTargets([]byte(tc.raw), directory.ResourceDirectory)
		if !errors.Is(err, ErrInvalidPayload) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseAllowedTargets(%s) = %v, want ErrInvalidPayload saying %q", tc.raw, err, tc.want)
		}
	}
	many := "[" + strings.Repeat(`"*@example.com",`, targetpolicy.MaxPatterns) + `"*@example.com"]`
	if _, err := parseAllowedTargets([]byte(many), directory.ResourceDirectory); !errors.Is(err, ErrInvalidPayload) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("%d patterns: %v, want an error about the limit", targetpolicy.MaxPatterns+1, err)
	}
}
