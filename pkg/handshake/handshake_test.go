package handshake

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseIDAcceptsHPrefixAnd16LettersOrDigitsInEitherCase(t *testing.T) {
	for _, s := range []string{"h-ycm4rp0000000000", "h-Ab12Cd34Ef56Gh78", "h-ABCDEFGHIJKLMNOP", "h-0123456789abcdef"} {
		id, err := ParseID(s)
		if err != nil {
			t.Errorf("ParseID(%q) = %v, want nil", s, err)
			continue
		}
		if id.String() != s {
			t.Errorf("ParseID(%q) = %q, want it unchanged", s, id)
		}
	}
}

func TestParseIDRejectsAnythingElseWithAClearError(t *testing.T) {
	for _, s := range []string{
		"",
		"h-",
		"h-ycm4rp****",              // the reference page's masked example
		"h-ycm4rp00000000000",       // 17 characters
		"h-ycm4rp000000000",         // 15 characters
		"H-ycm4rp0000000000",        // capital prefix
		"x-ycm4rp0000000000",        // wrong prefix
		"h_ycm4rp0000000000",        // wrong separator
		"h-ycm4rp00000000-0",        // dash inside
		"h-abc&Action=Dele",         // injection attempt, 17 bytes
		"h-abc&Action=Delet",        // injection attempt, 18 bytes
		"h-ycm4rp000000000\n",       // newline
		"h-ycm4rp00000000\u0430",    // Cyrillic a, a look-alike (2 bytes)
		"h-ycm4rp0000000\u00e9",     // é
		" h-ycm4rp000000000",        // leading space
		"h-ycm4rp0000000000 ",       // trailing space
		strings.Repeat("h-", 1<<16), // huge
		"h-ycm4rp00000000\xff\xfe",  // invalid UTF-8
		"h-ycm4rp0000000%41",        // percent-encoding
	} {
		_, err := ParseID(s)
		if err == nil {
			t.Errorf("ParseID(%q) = nil error, want one", s)
			continue
		}
		if !errors.Is(err, ErrInvalidID) {
			t.Errorf("ParseID(%q) error %v does not wrap ErrInvalidID", s, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "16 letters or digits") {
			t.Errorf("ParseID(%q) error %q does not say what is accepted", s, msg)
		}
		if len(msg) > 200 || strings.ContainsAny(msg, "\n\r") {
			t.Errorf("ParseID error is unbounded or multi-line: %q", msg)
		}
	}
}

func TestQuoteBoundsAndEscapesHostileInput(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 10, `"abc"`},
		{"a\nb", 10, `"a\nb"`},
		{"abcdef", 3, `"abc"... (6 bytes)`},
		{"ééé", 3, `"é"... (6 bytes)`}, // never cuts a rune in half
		{"\xff", 10, `"\xff"`},
	}
	for _, tt := range tests {
		if got := Quote(tt.in, tt.max); got != tt.want {
			t.Errorf("Quote(%q, %d) = %s, want %s", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestParseTargetType(t *testing.T) {
	for in, want := range map[string]TargetType{"Account": TargetAccount, "email": TargetEmail, "EMAIL": TargetEmail} {
		got, err := ParseTargetType(in)
		if err != nil || got != want {
			t.Errorf("ParseTargetType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseTargetType("Emailx"); err == nil || !strings.Contains(err.Error(), "Account or Email") {
		t.Errorf("ParseTargetType(Emailx) error = %v, want one naming what is accepted", err)
	}
}

const referenceJSON = `{
"HandshakeId" : "h-ycm4rp0000000000",
"ResourceDirectoryId" : "rd-abcdef****",
"MasterAccountId" : "172841235500****",
"MasterAccountName" : "Alice",
"TargetEntity" : "someone@example.com",
"TargetType" : "Email",
"Note" : "Welcome",
"Status" : "Cancelled",
"CreateTime" : "2018-08-10T09:55:41Z",
"ModifyTime" : "2018-08-10T09:55:41Z",
"ExpireTime" : "2018-08-24T09:55:41Z"
}`

func TestHandshakeReadsTheReferenceSampleAndWritesItBack(t *testing.T) {
	var h Handshake
	if err := json.Unmarshal([]byte(referenceJSON), &h); err != nil {
		t.Fatal(err)
	}
	want := Handshake{
		HandshakeID: "h-ycm4rp0000000000", ResourceDirectoryID: "rd-abcdef****",
		MasterAccountID: "172841235500****", MasterAccountName: "Alice",
		TargetEntity: "someone@example.com", TargetType: TargetEmail, Note: "Welcome",
		Status:     StatusCancelled,
		CreateTime: time.Date(2018, 8, 10, 9, 55, 41, 0, time.UTC),
		ModifyTime: time.Date(2018, 8, 10, 9, 55, 41, 0, time.UTC),
		ExpireTime: time.Date(2018, 8, 24, 9, 55, 41, 0, time.UTC),
	}
	if h != want {
		t.Fatalf("decoded %+v\nwant    %+v", h, want)
	}
	out, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	_ = json.Unmarshal(out, &a)
	_ = json.Unmarshal([]byte(referenceJSON), &b)
	if len(a) != len(b) {
		t.Fatalf("round trip has %d fields, want %d: %s", len(a), len(b), out)
	}
	for k, v := range b {
		if a[k] != v {
			t.Errorf("round trip field %s = %v, want %v", k, a[k], v)
		}
	}
}

func TestHandshakeXMLRoundTripMatchesTheReferenceShape(t *testing.T) {
	const sample = `<Handshake><HandshakeId>h-ycm4rp0000000000</HandshakeId><Status>Cancelled</Status><CreateTime>2018-08-10T09:55:41Z</CreateTime></Handshake>`
	var h Handshake
	if err := xml.Unmarshal([]byte(sample), &h); err != nil {
		t.Fatal(err)
	}
	if h.HandshakeID != "h-ycm4rp0000000000" || h.Status != StatusCancelled || h.CreateTime.Year() != 2018 {
		t.Fatalf("decoded %+v", h)
	}
	out, err := xml.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "<CreateTime>2018-08-10T09:55:41Z</CreateTime>") || !strings.HasPrefix(string(out), "<Handshake>") {
		t.Fatalf("marshalled %s", out)
	}
}

func TestHandshakeRejectsATimeThatIsNotUTC(t *testing.T) {
	var h Handshake
	err := json.Unmarshal([]byte(`{"CreateTime":"10/08/2018"}`), &h)
	if err == nil || !strings.Contains(err.Error(), "CreateTime") {
		t.Fatalf("error = %v, want one naming CreateTime", err)
	}
}

func TestOutcomeRedeliverOnlyForFailedAndInvalid(t *testing.T) {
	for _, o := range Outcomes() {
		want := o == OutcomeFailed || o == OutcomeInvalid
		if o.Redeliver() != want {
			t.Errorf("%s.Redeliver() = %v, want %v", o, !want, want)
		}
	}
	if got := Outcomes(); len(got) != 6 || !got[0].Known() || Outcome("cancel").Known() {
		t.Fatalf("Outcomes() = %q: want the six, each Known, and nothing else Known", got)
	}
}

func TestCutAndShowBoundUntrustedText(t *testing.T) {
	const max = 20
	for _, tc := range []struct{ in, cut, show string }{
		{"h-Ab12Cd34Ef56Gh78", "h-Ab12Cd34Ef56Gh78", "h-Ab12Cd34Ef56Gh78"},
		{"j***@example.com", "j***@example.com", "j***@example.com"},
		{"", "", `""`},
		{"a b", "a b", `"a b"`},
		{"tab\there", "tab\there", `"tab\there"`},
		{"x;y", "x;y", `"x;y"`},
		{"0123456789abcdefghijk", "0123456789abcdefghij...", `"0123456789abcdefghij"... (21 bytes)`},
		{"ééééééééééé", "éééééééééé...", `"éééééééééé"... (22 bytes)`},
	} {
		if got := Cut(tc.in, max); got != tc.cut {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.in, max, got, tc.cut)
		}
		if got := Show(tc.in, max); got != tc.show {
			t.Errorf("Show(%q, %d) = %q, want %q", tc.in, max, got, tc.show)
		}
	}
}
