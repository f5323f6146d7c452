package resourcemanager

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The V3 signature (ACS3-HMAC-SHA256), as the official OpenAPI client
// computes it:
//
//	CanonicalRequest = Method "\n" CanonicalURI "\n" CanonicalQuery "\n"
//	                   CanonicalHeaders "\n" SignedHeaders "\n" HexSHA256(body)
//	StringToSign     = "ACS3-HMAC-SHA256\n" HexSHA256(CanonicalRequest)
//	Authorization    = "ACS3-HMAC-SHA256 Credential=" AccessKeyId
//	                   ",SignedHeaders=" SignedHeaders
//	                   ",Signature=" HexHMACSHA256(secret, StringToSign)
//
// CanonicalQuery is the query sorted by name, names and values RFC 3986
// encoded (unreserved A-Z a-z 0-9 - _ . ~ kept, all else %XX upper case),
// joined with "=" and "&". The signed headers are host, content-type and
// every x-acs-* header, lower case, sorted; each canonical header line is
// "name:" trimmed value(s) "\n".

const (
	signAlgorithm = "ACS3-HMAC-SHA256"
	apiVersion    = "2020-03-31"
	dateLayout    = "2006-01-02T15:04:05Z"

	// emptyPayloadHash is hex SHA-256 of the empty body: RPC-style calls
	// carry every parameter in the query.
	emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Canonical header names, as http.Header keys them.
const (
	hdrAction        = "X-Acs-Action"
	hdrVersion       = "X-Acs-Version"
	hdrDate          = "X-Acs-Date"
	hdrNonce         = "X-Acs-Signature-Nonce"
	hdrContentSHA256 = "X-Acs-Content-Sha256"
	hdrSecurityToken = "X-Acs-Security-Token"
	hdrAccessKeyID   = "X-Acs-Accesskey-Id"
	hdrAuthorization = "Authorization"
)

var errSignBody = errors.New("resourcemanager: sign: request has a body; RPC-style calls put every parameter in the query")

// sign signs req in place with ACS3-HMAC-SHA256 using creds, the given
// x-acs-date (UTC, 2006-01-02T15:04:05Z) and signature nonce. It sets
// x-acs-date, x-acs-signature-nonce, x-acs-content-sha256 and, for STS
// credentials, x-acs-security-token and x-acs-accesskey-id (as the official
// client does), then Authorization. Every x-acs-* header already on req
// (x-acs-action and x-acs-version at least) is signed too, as are host and
// content-type. req must have no body.
func sign(req *http.Request, creds Credentials, date, nonce string) error {
	if req.Body != nil && req.Body != http.NoBody || req.ContentLength > 0 {
		return errSignBody
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	h := req.Header
	h.Set(hdrDate, date)
	h.Set(hdrNonce, nonce)
	h.Set(hdrContentSHA256, emptyPayloadHash)
	if creds.SecurityToken != "" {
		h.Set(hdrSecurityToken, creds.SecurityToken)
		h.Set(hdrAccessKeyID, creds.AccessKeyID)
	} else {
		h.Del(hdrSecurityToken)
		h.Del(hdrAccessKeyID)
	}
	h.Del(hdrAuthorization)

	canonical, signed := canonicalRequest(req)
	sum := sha256.Sum256([]byte(canonical))
	mac := hmac.New(sha256.New, []byte(creds.AccessKeySecret))
	mac.Write([]byte(signAlgorithm + "\n" + hex.EncodeToString(sum[:])))
	h.Set(hdrAuthorization, signAlgorithm+" Credential="+creds.AccessKeyID+",SignedHeaders="+signed+",Signature="+hex.EncodeToString(mac.Sum(nil)))
	return nil
}

// canonicalRequest returns req's canonical request and its signed-headers
// list. Header names that differ only in case are merged, their trimmed
// values sorted and joined with ",", as the official client's lower-casing
// does.
func canonicalRequest(req *http.Request) (canonical, signedHeaders string) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	headers := make(map[string][]string, len(req.Header)+1)
	headers["host"] = []string{strings.TrimSpace(host)}
	for k, vs := range req.Header {
		name := strings.ToLower(k)
		if !strings.HasPrefix(name, "x-acs-") && name != "content-type" {
			continue
		}
		for _, v := range vs {
			headers[name] = append(headers[name], strings.TrimSpace(v))
		}
	}
	names := slices.Sorted(maps.Keys(headers))
	signedHeaders = strings.Join(names, ";")

	var b strings.Builder
	b.Grow(1024)
	for _, part := range []string{req.Method, canonicalURI(req.URL.EscapedPath()), encodeQuery(parseQuery(req.URL.RawQuery))} {
		b.WriteString(part)
		b.WriteByte('\n')
	}
	for _, name := range names {
		vs := headers[name]
		slices.Sort(vs)
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range vs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(v)
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(signedHeaders)
	b.WriteByte('\n')
	b.WriteString(emptyPayloadHash)
	return b.String(), signedHeaders
}

// canonicalURI is the path as the official client writes it: "/" when
// empty, and the RFC 3986 spellings of "+", "*" and "~".
func canonicalURI(p string) string {
	if p == "" || p == "/" {
		return "/"
	}
	return uriReplacer.Replace(p)
}

var uriReplacer = strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~")

// param is one query parameter.
type param struct{ key, value string }

// parseQuery splits a raw query into its parameters, decoded by the
// application/x-www-form-urlencoded rules ("+" is a space). An undecodable
// escape is kept as written: signed so, the server rejects the signature,
// which is the right answer.
func parseQuery(raw string) []param {
	var ps []param
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		ps = append(ps, param{k, v})
	}
	return ps
}

// encodeQuery writes params in canonical form: sorted by name then
// value, names and values RFC 3986 encoded, joined with "=" and "&". The
// Client sends its queries in this form too, so what it
// sends is what it signs.
func encodeQuery(params []param) string {
	ps := slices.Clone(params)
	slices.SortFunc(ps, func(a, b param) int {
		return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.value, b.value))
	})
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escape(p.key))
		b.WriteByte('=')
		b.WriteString(escape(p.value))
	}
	return b.String()
}

// escape encodes s by RFC 3986: unreserved characters (A-Z a-z 0-9 - _ . ~)
// as they are, every other byte as %XX with upper-case hex.
func escape(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x80 || !unreserved(byte(r)) }) {
		return s // the usual case: nothing to encode
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(3 * len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; unreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// newNonce returns a fresh signature nonce: 128 random bits in hex. Every
// attempt gets its own, since the service refuses a nonce it has seen.
func newNonce() string {
	var r [16]byte
	rand.Read(r[:]) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(r[:])
}

// formatDate writes t as x-acs-date wants it: UTC, second precision.
func formatDate(t time.Time) string { return t.UTC().Format(dateLayout) }
