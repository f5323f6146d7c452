package targetpolicy

import (
	"github.com/handshake-janitor/handshake-janitor/pkg/directory"
	"strings"
	"testing"
)

// FuzzParse: any list either parses to a policy that reads back the same, or
// fails with one line; matching and redaction never panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "*@example.com", "1234567890123456,*@*.example.com", "a@b@c", "*@*", "j*@Example.COM,"} {
		f.Add(s, "someone@mail.example.com")
	}
	f.Fuzz(func(t *testing.T, list, entity string) {
		p, err := Parse(list, directory.ResourceDirectory)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("Parse(%q): error is not one line: %q", list, err)
			}
			return
		}
		again, err := Parse(p.String(), directory.ResourceDirectory)
		if err != nil || again.String() != p.String() {
			t.Fatalf("Parse(%q).String() = %q reads back as %q, %v", list, p.String(), again.String(), err)
		}
		_ = p.Allowed(email, entity)
		_ = p.Allowed(account, entity)
		_ = MaskTarget(entity)
	})
}
