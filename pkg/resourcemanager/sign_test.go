package resourcemanager

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestEscapeIsRFC3986(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abcXYZ019-_.~", "abcXYZ019-_.~"},
		{" ", "%20"},
		{"+", "%2B"},
		{"*", "%2A"},
		{"/", "%2F"},
		{"=&?#%", "%3D%26%3F%23%25"},
		{"é", "%C3%A9"},
		{"中", "%E4%B8%AD"},
		{"\x00\xff", "%00%FF"},
	}
	for _, tt := range tests {
		if got := escape(tt.in); got != tt.want {
			t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEncodeQuerySortsAndEncodes(t *testing.T) {
	got := encodeQuery([]param{{"PageSize", "100"}, {"Format", "JSON"}, {"Note", "a b*c~"}, {"HandshakeId", "h-1"}})
	want := "Format=JSON&HandshakeId=h-1&Note=a%20b%2Ac~&PageSize=100"
	if got != want {
		t.Fatalf("encodeQuery = %q, want %q", got, want)
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct{ name, raw, want string }{
		{"empty", "", ""},
		{"already canonical", "Format=JSON&HandshakeId=h-abc", "Format=JSON&HandshakeId=h-abc"},
		{"canonical escapes", "A=%20%2A%2B", "A=%20%2A%2B"},
		{"empty value", "A=&B=x", "A=&B=x"},
		{"unsorted", "B=1&A=2", "A=2&B=1"},
		{"plus is a space", "A=a+b", "A=a%20b"},
		{"lower-case hex", "A=%2a", "A=%2A"},
		{"escaped unreserved", "A=%41%7E", "A=A~"},
		{"tilde kept", "A=%7E", "A=~"},
		{"star escaped", "A=*", "A=%2A"},
		{"no equals sign", "A&B=1", "A=&B=1"},
		{"duplicate names sorted by value", "A=2&A=1", "A=1&A=2"},
		{"escaped name", "%41b=1", "Ab=1"},
		{"trailing ampersand", "A=1&", "A=1"},
		{"undecodable escape kept", "A=%zz", "A=%25zz"},
		{"unicode", "N=%E4%B8%AD", "N=%E4%B8%AD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := encodeQuery(parseQuery(tt.raw)); got != tt.want {
				t.Errorf("canonical(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

// testRequest is a CancelHandshake request as the Client builds it.
func testRequest(t testing.TB) *http.Request {
	t.Helper()
	req, err := newRequest(context.Background(), "https://resourcemanager.aliyuncs.com/?"+encodeQuery([]param{{"Format", "JSON"}, {"HandshakeId", "h-abcdEFGH12345678"}}), actionCancel)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestCanonicalRequestLayout(t *testing.T) {
	req := testRequest(t)
	if err := sign(req, Credentials{AccessKeyID: "LTAIid", AccessKeySecret: "secret", SecurityToken: "tok en"}, "2024-01-02T03:04:05Z", "n0nce"); err != nil {
		t.Fatal(err)
	}
	got, signed := canonicalRequest(req)
	want := "POST\n/\nFormat=JSON&HandshakeId=h-abcdEFGH12345678\n" +
		"host:resourcemanager.aliyuncs.com\n" +
		"x-acs-accesskey-id:LTAIid\n" +
		"x-acs-action:CancelHandshake\n" +
		"x-acs-content-sha256:" + emptyPayloadHash + "\n" +
		"x-acs-date:2024-01-02T03:04:05Z\n" +
		"x-acs-security-token:tok en\n" +
		"x-acs-signature-nonce:n0nce\n" +
		"x-acs-version:2020-03-31\n" +
		"\n" +
		"host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version\n" +
		emptyPayloadHash
	if got != want {
		t.Fatalf("canonical request:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(want, signed+"\n") {
		t.Fatalf("signed headers %q not in the canonical request", signed)
	}

	// The Authorization header is the HMAC of the string to sign.
	sum := sha256.Sum256([]byte(got))
	mac := hmac.New(sha256.New, []byte("secret"))
	mac.Write([]byte(signAlgorithm + "\n" + hex.EncodeToString(sum[:])))
	wantAuth := signAlgorithm + " Credential=LTAIid,SignedHeaders=" + signed + ",Signature=" + hex.EncodeToString(mac.Sum(nil))
	if a := req.Header.Get("Authorization"); a != wantAuth {
		t.Fatalf("Authorization = %q, want %q", a, wantAuth)
	}
}

func TestSignWithoutTokenDropsSTSHeaders(t *testing.T) {
	req := testRequest(t)
	sts := Credentials{AccessKeyID: "STS.id", AccessKeySecret: "s", SecurityToken: "token"}
	if err := sign(req, sts, "2024-01-02T03:04:05Z", "n1"); err != nil {
		t.Fatal(err)
	}
	if req.Header.Get(hdrSecurityToken) != "token" || req.Header.Get(hdrAccessKeyID) != "STS.id" {
		t.Fatalf("STS headers missing: %v", req.Header)
	}
	// Re-signed (next attempt) with plain AccessKey credentials.
	if err := sign(req, Credentials{AccessKeyID: "LTAI", AccessKeySecret: "s"}, "2024-01-02T03:04:06Z", "n2"); err != nil {
		t.Fatal(err)
	}
	if v := req.Header.Values(hdrSecurityToken); len(v) != 0 {
		t.Fatalf("security token still sent: %q", v)
	}
	if a := req.Header.Get("Authorization"); strings.Contains(a, "x-acs-security-token") || !strings.Contains(a, "Credential=LTAI,") {
		t.Fatalf("Authorization = %q", a)
	}
	if req.Header.Get(hdrNonce) != "n2" || req.Header.Get(hdrDate) != "2024-01-02T03:04:06Z" {
		t.Fatal("date and nonce not replaced on re-signing")
	}
}

func TestSignMergesHeaderCaseVariants(t *testing.T) {
	// The official client lower-cases header names and joins the sorted
	// values of one name with ",".
	a := testRequest(t)
	a.Header["x-acs-extra"] = []string{" b "}
	a.Header["X-Acs-Extra"] = []string{"a"}
	b := testRequest(t)
	b.Header["X-Acs-Extra"] = []string{"b", "a"}
	creds := Credentials{AccessKeyID: "id", AccessKeySecret: "s"}
	for _, r := range []*http.Request{a, b} {
		if err := sign(r, creds, "2024-01-02T03:04:05Z", "n"); err != nil {
			t.Fatal(err)
		}
	}
	if a.Header.Get("Authorization") != b.Header.Get("Authorization") {
		t.Fatalf("case variants signed differently:\n%s\n%s", a.Header.Get("Authorization"), b.Header.Get("Authorization"))
	}
	canon, _ := canonicalRequest(b)
	if !strings.Contains(canon, "\nx-acs-extra:a,b\n") {
		t.Fatalf("canonical request lacks the joined header:\n%s", canon)
	}
}

func TestSignRefusesABody(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPost, "https://h/?A=1", strings.NewReader("x"))
	if err := sign(req, Credentials{AccessKeyID: "id", AccessKeySecret: "s"}, "2024-01-02T03:04:05Z", "n"); err == nil {
		t.Fatal("sign accepted a request with a body")
	}
}

func TestSignCanonicalURI(t *testing.T) {
	for _, tt := range []struct{ path, want string }{
		{"", "/"}, {"/", "/"}, {"/a+b*c%7E", "/a%20b%2Ac~"},
	} {
		if got := canonicalURI(tt.path); got != tt.want {
			t.Errorf("canonical URI of %q = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestNonceIsFreshAndDateFormatted(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		n := newNonce()
		if len(n) != 32 || seen[n] {
			t.Fatalf("nonce %q repeated or malformed", n)
		}
		seen[n] = true
	}
	if got := formatDate(time.Date(2024, 2, 3, 4, 5, 6, 7, time.FixedZone("X", 3600))); got != "2024-02-03T03:05:06Z" {
		t.Fatalf("formatDate = %q, want UTC 2024-02-03T03:05:06Z", got)
	}
}

func BenchmarkSign(b *testing.B) {
	creds := Credentials{AccessKeyID: "LTAIabcdefgh", AccessKeySecret: "secretsecret"}
	b.ReportAllocs()
	for b.Loop() {
		req := testRequest(b)
		if err := sign(req, creds, formatDate(timeNowForBench()), newNonce()); err != nil {
			b.Fatal(err)
		}
	}
}

var timeNowForBench = func() time.Time { return time.Now() }
