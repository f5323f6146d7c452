package resourcemanager

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
//
// When req.URL.RawQuery is already canonical (as encodeQuery writes it),
// signing allocates little: the canonical request is built in a stack
// buffer and hashed in one go.
func sign(req *http.Request, creds Credentials, date, nonce string) error {
	if req.Body != nil && req.Body != http.NoBody || req.ContentLength > 0 {
		return errSignBody
	}
	h := req.Header
	if h == nil {
		h = make(http.Header, 10)
		req.Header = h
	}
	// One backing array for the values sign sets: one allocation, not six.
	vals := make([]string, 6)
	vals[0], vals[1], vals[2] = date, nonce, emptyPayloadHash
	h[hdrDate] = vals[0:1:1]
	h[hdrNonce] = vals[1:2:2]
	h[hdrContentSHA256] = vals[2:3:3]
	if creds.SecurityToken != "" {
		vals[3], vals[4] = creds.SecurityToken, creds.AccessKeyID
		h[hdrSecurityToken] = vals[3:4:4]
		h[hdrAccessKeyID] = vals[4:5:5]
	} else {
		delete(h, hdrSecurityToken)
		delete(h, hdrAccessKeyID)
	}
	delete(h, hdrAuthorization)

	var buf [2048]byte
	b, signed := appendCanonicalRequest(buf[:0], req)
	sum := sha256.Sum256(b)
	var sts [stringToSignLen]byte
	copy(sts[:], signAlgorithm+"\n")
	hex.Encode(sts[len(signAlgorithm)+1:], sum[:])

	var sigHex [2 * sha256.Size]byte
	sig := hmacSHA256(creds.AccessKeySecret, &sts)
	hex.Encode(sigHex[:], sig[:])

	var auth strings.Builder
	auth.Grow(len(signAlgorithm) + len(" Credential=") + len(creds.AccessKeyID) + len(",SignedHeaders=") + len(signed) + len(",Signature=") + len(sigHex))
	auth.WriteString(signAlgorithm)
	auth.WriteString(" Credential=")
	auth.WriteString(creds.AccessKeyID)
	auth.WriteString(",SignedHeaders=")
	auth.Write(signed)
	auth.WriteString(",Signature=")
	auth.Write(sigHex[:])
	vals[5] = auth.String()
	h[hdrAuthorization] = vals[5:6:6]
	return nil
}

// stringToSignLen is the length of "ACS3-HMAC-SHA256\n" and a hex SHA-256.
const stringToSignLen = len(signAlgorithm) + 1 + 2*sha256.Size

// hmacSHA256 is HMAC-SHA256 (RFC 2104) of a string to sign, computed in
// fixed-size stack buffers: crypto/hmac would allocate a fresh keyed state
// (half a dozen allocations) per request for a key that changes with every
// credential rotation. Tested against crypto/hmac.
func hmacSHA256(key string, msg *[stringToSignLen]byte) [sha256.Size]byte {
	const block = 64 // SHA-256 block size
	var k [block]byte
	if len(key) > block {
		sum := sha256.Sum256([]byte(key))
		copy(k[:], sum[:])
	} else {
		copy(k[:], key)
	}
	var inner [block + stringToSignLen]byte
	copy(inner[block:], msg[:])
	for i := range block {
		inner[i] = k[i] ^ 0x36
	}
	innerSum := sha256.Sum256(inner[:])
	var outer [block + sha256.Size]byte
	for i := range block {
		outer[i] = k[i] ^ 0x5c
	}
	copy(outer[block:], innerSum[:])
	return sha256.Sum256(outer[:])
}

// appendCanonicalRequest writes req's canonical request to b and returns it
// with the signed-headers list (a subslice of it).
func appendCanonicalRequest(b []byte, req *http.Request) (canonical, signed []byte) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	// Collect the signed headers: host, content-type, x-acs-*.
	var stack [16]signedHeader
	sh := append(stack[:0], signedHeader{name: "host", one: host})
	for k, v := range req.Header {
		if hasPrefixFold(k, "x-acs-") || strings.EqualFold(k, "content-type") {
			sh = append(sh, signedHeader{name: k, vals: v})
		}
	}
	slices.SortFunc(sh, func(a, b signedHeader) int { return compareFold(a.name, b.name) })

	b = append(b, req.Method...)
	b = append(b, '\n')
	b = appendCanonicalURI(b, req.URL.EscapedPath())
	b = append(b, '\n')
	b = appendCanonicalQuery(b, req.URL.RawQuery)
	b = append(b, '\n')
	for i := 0; i < len(sh); {
		// Merge header names that differ only in case, as the official
		// client's lower-casing does.
		j := i + 1
		for j < len(sh) && compareFold(sh[i].name, sh[j].name) == 0 {
			j++
		}
		b = appendLower(b, sh[i].name)
		b = append(b, ':')
		b = appendHeaderValues(b, sh[i:j])
		b = append(b, '\n')
		i = j
	}
	b = append(b, '\n')
	start := len(b)
	b = appendSignedHeaders(b, sh)
	end := len(b)
	b = append(b, '\n')
	b = append(b, emptyPayloadHash...)
	return b, b[start:end:end]
}

type signedHeader struct {
	name string
	vals []string
	one  string // the value, when vals is nil (host)
}

func appendSignedHeaders(b []byte, sh []signedHeader) []byte {
	for i := range sh {
		if i > 0 && compareFold(sh[i-1].name, sh[i].name) == 0 {
			continue
		}
		if i > 0 {
			b = append(b, ';')
		}
		b = appendLower(b, sh[i].name)
	}
	return b
}

// appendHeaderValues writes the trimmed values of one header (possibly
// spread over several case variants of its name), sorted and joined by ","
// when there are several.
func appendHeaderValues(b []byte, group []signedHeader) []byte {
	if len(group) == 1 && group[0].vals == nil {
		return append(b, strings.TrimSpace(group[0].one)...)
	}
	if len(group) == 1 && len(group[0].vals) == 1 {
		return append(b, strings.TrimSpace(group[0].vals[0])...)
	}
	var all []string
	for _, g := range group {
		if g.vals == nil {
			all = append(all, strings.TrimSpace(g.one))
		}
		for _, v := range g.vals {
			all = append(all, strings.TrimSpace(v))
		}
	}
	slices.Sort(all)
	for i, v := range all {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, v...)
	}
	return b
}

// appendCanonicalURI writes the path as the official client does: "/" when
// empty, and the RFC 3986 spellings of "+", "*" and "~".
func appendCanonicalURI(b []byte, p string) []byte {
	if p == "" || p == "/" {
		return append(b, '/')
	}
	p = strings.ReplaceAll(p, "+", "%20")
	p = strings.ReplaceAll(p, "*", "%2A")
	p = strings.ReplaceAll(p, "%7E", "~")
	return append(b, p...)
}

// appendCanonicalQuery writes the canonical form of a raw query. A query
// that is already canonical (sorted, unreserved names, values encoded as
// escapeRFC3986 does) is copied as is; anything else is decoded
// (application/x-www-form-urlencoded rules, "+" is a space), sorted by name
// then value, and re-encoded.
func appendCanonicalQuery(b []byte, raw string) []byte {
	if isCanonicalQuery(raw) {
		return append(b, raw...)
	}
	type kv struct{ k, v string }
	var pairs []kv
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		// An undecodable escape is signed as written: the server then
		// rejects the signature, which is the right answer.
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		pairs = append(pairs, kv{k, v})
	}
	slices.SortFunc(pairs, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = appendEscape(b, p.k)
		b = append(b, '=')
		b = appendEscape(b, p.v)
	}
	return b
}

// isCanonicalQuery reports whether raw is already in canonical form: names
// of unreserved characters in strictly ascending order, each with "=" and a
// value holding only unreserved characters and upper-case %XX escapes of
// reserved bytes.
func isCanonicalQuery(raw string) bool {
	prev := ""
	for i := 0; i < len(raw); {
		end := strings.IndexByte(raw[i:], '&')
		if end < 0 {
			end = len(raw)
		} else {
			end += i
		}
		part := raw[i:end]
		eq := strings.IndexByte(part, '=')
		if eq <= 0 {
			return false
		}
		k, v := part[:eq], part[eq+1:]
		for j := 0; j < len(k); j++ {
			if !unreserved(k[j]) {
				return false
			}
		}
		if i > 0 && k <= prev {
			return false
		}
		for j := 0; j < len(v); j++ {
			c := v[j]
			if unreserved(c) {
				continue
			}
			if c != '%' || j+2 >= len(v) || !upperHex(v[j+1]) || !upperHex(v[j+2]) || unreserved(unhex(v[j+1])<<4|unhex(v[j+2])) {
				return false
			}
			j += 2
		}
		prev = k
		i = end + 1
		if end == len(raw)-1 { // trailing "&"
			return false
		}
	}
	return true
}

// encodeQuery writes params in canonical form: sorted by name, RFC 3986
// encoded. Used as the request's RawQuery, it is also the canonical query,
// so signing copies it instead of re-encoding.
func encodeQuery(params []param) string {
	ps := slices.Clone(params)
	slices.SortFunc(ps, func(a, b param) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	n := 0
	for _, p := range ps {
		n += len(p.key) + 3*len(p.value) + 2
	}
	b := make([]byte, 0, n)
	for i, p := range ps {
		if i > 0 {
			b = append(b, '&')
		}
		b = appendEscape(b, p.key)
		b = append(b, '=')
		b = appendEscape(b, p.value)
	}
	return string(b)
}

// param is one query parameter.
type param struct{ key, value string }

const upperHexDigits = "0123456789ABCDEF"

// appendEscape writes s RFC 3986 encoded: unreserved characters as they
// are, every other byte as %XX with upper-case hex.
func appendEscape(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHexDigits[c>>4], upperHexDigits[c&15])
	}
	return b
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

func upperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b = append(b, lower(s[i]))
	}
	return b
}

// compareFold compares ASCII strings as their lower-case forms would compare
// byte by byte, without allocating them.
func compareFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := lower(a[i]), lower(b[i])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// newNonce returns a fresh signature nonce: 128 random bits in hex. Every
// attempt gets its own, since the service refuses a nonce it has seen.
func newNonce() string {
	var r [16]byte
	rand.Read(r[:]) // never fails (crypto/rand, Go 1.24+)
	var h [32]byte
	hex.Encode(h[:], r[:])
	return string(h[:])
}

// formatDate writes t as x-acs-date wants it: UTC, second precision.
func formatDate(t time.Time) string {
	var buf [len(dateLayout)]byte
	return string(t.UTC().AppendFormat(buf[:0], dateLayout))
}
