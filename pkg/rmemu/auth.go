package rmemu

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// The two signature methods the emulator verifies. This verifier is written
// apart from pkg/resourcemanager's signer on purpose: two implementations
// of the same rules that must agree catch what one alone would not.
const (
	MethodV3   = "ACS3-HMAC-SHA256" // Authorization header (SDK V3 signature)
	MethodHMAC = "HMAC-SHA1"        // RPC query signature (SignatureVersion 1.0)
)

// timeLayout is how request timestamps are written (x-acs-date, Timestamp).
const timeLayout = "2006-01-02T15:04:05Z"

const (
	msgIncompleteSignature = "The request signature does not conform to Aliyun standards."
	msgSignatureMismatch   = "Specified signature is not matched with our calculation."
)

// identity is who signed a request, as far as it was established.
type identity struct {
	accessKeyID string
	method      string
	sts         bool // a security token was presented and matched the key
}

// authenticate verifies the request's signature, key, token, timestamp and
// nonce, in the order the service reports them.
func (s *Server) authenticate(q *request) (identity, *response) {
	if auth := q.r.Header.Get("Authorization"); auth != "" {
		return s.verifyV3(q, auth)
	}
	if _, ok := q.param("Signature"); ok {
		return s.verifyRPC(q)
	}
	if _, ok := q.param("AccessKeyId"); ok {
		return s.verifyRPC(q)
	}
	return identity{}, fail(http.StatusBadRequest, "MissingAccessKeyId", missingMessage("AccessKeyId"))
}

func fail(status int, code, message string) *response {
	r := errorResponse(status, code, message)
	return &r
}

// SetCredentials replaces the keys the emulator accepts, as rotating keys
// in RAM does: a key left out is unknown from the next request on
// (InvalidAccessKeyId.NotFound), a Disabled one is refused. The map is
// copied.
func (s *Server) SetCredentials(creds map[string]Credential) {
	keys := make(map[string]Credential, len(creds))
	tokens := make(map[string]string, len(creds))
	for id, c := range creds {
		keys[id] = c
		if c.SecurityToken != "" {
			tokens[c.SecurityToken] = id
		}
	}
	s.credMu.Lock()
	s.creds, s.tokens = keys, tokens
	s.credMu.Unlock()
}

// credential finds the key and checks the security token that came with it.
func (s *Server) credential(id *identity, token string) (Credential, *response) {
	s.credMu.RLock()
	c, ok := s.creds[id.accessKeyID]
	owner, known := s.tokens[token]
	s.credMu.RUnlock()
	if !ok {
		return c, fail(http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	if c.Disabled {
		return c, fail(http.StatusBadRequest, "InvalidAccessKeyId.Inactive", "Specified access key is disabled.")
	}
	if token == "" {
		if c.SecurityToken != "" {
			return c, fail(http.StatusBadRequest, "MissingSecurityToken", missingMessage("SecurityToken"))
		}
		return c, nil
	}
	// An emulated token is opaque: one the emulator never issued cannot be
	// decoded (malformed); one issued for another key does not match.
	if !known {
		return c, fail(http.StatusBadRequest, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed.")
	}
	if owner != id.accessKeyID {
		return c, fail(http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey.")
	}
	if !c.Expiration.IsZero() && time.Now().After(c.Expiration) {
		return c, fail(http.StatusBadRequest, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
	}
	id.sts = true
	return c, nil
}

// checkTimestamp applies the service's freshness rule to a request time.
func (s *Server) checkTimestamp(v string) *response {
	t, err := time.Parse(timeLayout, v)
	if err != nil {
		return fail(http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
	}
	if s.skew < 0 {
		return nil
	}
	if d := time.Since(t); d > s.skew || d < -s.skew {
		return fail(http.StatusBadRequest, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
	}
	return nil
}

// checkNonce records a nonce once its request proved authentic, so that a
// replay of the same signed request is refused.
func (s *Server) checkNonce(accessKeyID, nonce string) *response {
	if !s.nonces.use(nonceKey(accessKeyID, nonce), time.Now()) {
		return fail(http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already.")
	}
	return nil
}

// verifyV3 checks an ACS3-HMAC-SHA256 request:
//
//	Authorization: ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b>,Signature=<hex>
//	canonical request = METHOD \n / \n sorted RFC 3986 query \n
//	                    name:value\n per signed header \n signed headers \n
//	                    hex SHA-256 of the body
//	string to sign    = ACS3-HMAC-SHA256 \n hex SHA-256 of the canonical request
//	signature         = hex HMAC-SHA256(secret, string to sign)
func (s *Server) verifyV3(q *request, auth string) (identity, *response) {
	id := identity{method: MethodV3}
	alg, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if alg != MethodV3 {
		return id, fail(http.StatusBadRequest, "IncompleteSignature", msgIncompleteSignature+" Supported algorithm: ACS3-HMAC-SHA256.")
	}
	var credential, signed, signature string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			signature = v
		}
	}
	if credential == "" || signed == "" || signature == "" {
		return id, fail(http.StatusBadRequest, "IncompleteSignature", msgIncompleteSignature+" Authorization needs Credential, SignedHeaders and Signature.")
	}
	id.accessKeyID = credential

	r := q.r
	date := r.Header.Get("x-acs-date")
	if date == "" {
		return id, fail(http.StatusBadRequest, "MissingTimestamp", missingMessage("x-acs-date"))
	}
	nonce := r.Header.Get("x-acs-signature-nonce")
	if nonce == "" {
		return id, fail(http.StatusBadRequest, "MissingSignatureNonce", missingMessage("x-acs-signature-nonce"))
	}
	contentHash := r.Header.Get("x-acs-content-sha256")
	if contentHash == "" {
		return id, fail(http.StatusBadRequest, "IncompleteSignature", msgIncompleteSignature+" Header x-acs-content-sha256 is required.")
	}
	names, bad := signedHeaderNames(r, signed)
	if bad != "" {
		return id, fail(http.StatusBadRequest, "IncompleteSignature", msgIncompleteSignature+" "+bad)
	}

	cred, f := s.credential(&id, r.Header.Get("x-acs-security-token"))
	if f != nil {
		return id, f
	}
	if f := s.checkTimestamp(date); f != nil {
		return id, f
	}
	bodyHash := sha256.Sum256(q.body)
	if !strings.EqualFold(contentHash, hex.EncodeToString(bodyHash[:])) {
		return id, fail(http.StatusBadRequest, "SignatureDoesNotMatch", msgSignatureMismatch+" The x-acs-content-sha256 header does not match the request body.")
	}

	var canon strings.Builder
	canon.WriteString(r.Method)
	canon.WriteString("\n/\n")
	canon.WriteString(encodeQuery(q.query, ""))
	canon.WriteByte('\n')
	for _, name := range names {
		canon.WriteString(name)
		canon.WriteByte(':')
		canon.WriteString(headerValue(r, name))
		canon.WriteByte('\n')
	}
	canon.WriteByte('\n')
	canon.WriteString(signed)
	canon.WriteByte('\n')
	canon.WriteString(hex.EncodeToString(bodyHash[:]))
	canonHash := sha256.Sum256([]byte(canon.String()))
	stringToSign := MethodV3 + "\n" + hex.EncodeToString(canonHash[:])

	mac := hmac.New(sha256.New, []byte(cred.AccessKeySecret))
	mac.Write([]byte(stringToSign))
	got, err := hex.DecodeString(signature)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		// The string to sign is a hash: safe to echo, as the service does.
		return id, fail(http.StatusBadRequest, "SignatureDoesNotMatch", msgSignatureMismatch+" server string to sign is:"+stringToSign)
	}
	if f := s.checkNonce(id.accessKeyID, nonce); f != nil {
		return id, f
	}
	return id, nil
}

// signedHeaderNames checks SignedHeaders: lower case, sorted, host and
// every x-acs-* header of the request included. It returns the names, or
// what is wrong.
func signedHeaderNames(r *http.Request, signed string) ([]string, string) {
	names := strings.Split(signed, ";")
	set := make(map[string]bool, len(names))
	for i, n := range names {
		if n == "" || n != strings.ToLower(n) {
			return nil, "SignedHeaders must be lower-case names separated by semicolons."
		}
		if i > 0 && names[i-1] >= n {
			return nil, "SignedHeaders must be sorted and without duplicates."
		}
		set[n] = true
	}
	if !set["host"] {
		return nil, "SignedHeaders must include host."
	}
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-acs-") && !set[lk] {
			return nil, "SignedHeaders must include every x-acs-* header; " + handshake.Quote(lk, 40) + " is missing."
		}
	}
	return names, ""
}

// headerValue is a header's canonical value: values trimmed, sorted and
// joined with commas; the Host header is the request's host.
func headerValue(r *http.Request, name string) string {
	if name == "host" {
		return strings.TrimSpace(r.Host)
	}
	vals := r.Header.Values(name)
	if len(vals) == 1 {
		return strings.TrimSpace(vals[0])
	}
	trimmed := make([]string, len(vals))
	for i, v := range vals {
		trimmed[i] = strings.TrimSpace(v)
	}
	sort.Strings(trimmed)
	return strings.Join(trimmed, ",")
}

// verifyRPC checks an RPC request signed with HMAC-SHA1:
//
//	string to sign = METHOD & %2F & percentEncode(canonicalized query)
//	canonicalized query = sorted percentEncode(key)=percentEncode(value),
//	                      every parameter (query and form body) but Signature
//	signature = base64 HMAC-SHA1(secret + "&", string to sign)
func (s *Server) verifyRPC(q *request) (identity, *response) {
	id := identity{method: MethodHMAC}
	akID, _ := q.param("AccessKeyId")
	if akID == "" {
		return id, fail(http.StatusBadRequest, "MissingAccessKeyId", missingMessage("AccessKeyId"))
	}
	id.accessKeyID = akID
	signature, _ := q.param("Signature")
	if signature == "" {
		return id, fail(http.StatusBadRequest, "MissingSignature", missingMessage("Signature"))
	}
	method, _ := q.param("SignatureMethod")
	switch method {
	case "":
		return id, fail(http.StatusBadRequest, "MissingSignatureMethod", missingMessage("SignatureMethod"))
	case MethodHMAC:
	default:
		return id, fail(http.StatusBadRequest, "InvalidSignatureMethod", "Specified signature method is not supported. Supported: HMAC-SHA1.")
	}
	version, _ := q.param("SignatureVersion")
	switch version {
	case "":
		return id, fail(http.StatusBadRequest, "MissingSignatureVersion", missingMessage("SignatureVersion"))
	case "1.0":
	default:
		return id, fail(http.StatusBadRequest, "InvalidSignatureVersion", "Specified signature version is not supported. Supported: 1.0.")
	}
	nonce, _ := q.param("SignatureNonce")
	if nonce == "" {
		return id, fail(http.StatusBadRequest, "MissingSignatureNonce", missingMessage("SignatureNonce"))
	}
	ts, _ := q.param("Timestamp")
	if ts == "" {
		return id, fail(http.StatusBadRequest, "MissingTimestamp", missingMessage("Timestamp"))
	}
	token, _ := q.param("SecurityToken")
	cred, f := s.credential(&id, token)
	if f != nil {
		return id, f
	}
	if f := s.checkTimestamp(ts); f != nil {
		return id, f
	}

	stringToSign := rpcStringToSign(q.r.Method, q, "")
	mac := hmac.New(sha1.New, []byte(cred.AccessKeySecret+"&"))
	mac.Write([]byte(stringToSign))
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		msg := msgSignatureMismatch + " server string to sign is:"
		if token != "" {
			// This string carries the token itself: echo it redacted.
			msg += rpcStringToSign(q.r.Method, q, token)
		} else {
			msg += stringToSign
		}
		return id, fail(http.StatusBadRequest, "SignatureDoesNotMatch", msg)
	}
	if f := s.checkNonce(id.accessKeyID, nonce); f != nil {
		return id, f
	}
	return id, nil
}

// rpcStringToSign builds the HMAC-SHA1 string to sign over the query and
// form parameters but Signature. With redact set, the SecurityToken value
// is replaced, for a message that must not carry it.
func rpcStringToSign(method string, q *request, redact string) string {
	all := make(map[string][]string, len(q.query)+len(q.form))
	for k, v := range q.query {
		all[k] = v
	}
	for k, v := range q.form {
		all[k] = append(all[k][:len(all[k]):len(all[k])], v...)
	}
	if redact != "" {
		all["SecurityToken"] = []string{"<redacted>"}
	}
	return method + "&" + percentEncode("/") + "&" + percentEncode(encodeQuery(all, "Signature"))
}

// encodeQuery encodes every pair per RFC 3986, sorts by key then value,
// and joins them with &. The parameter named skip is left out.
func encodeQuery(params map[string][]string, skip string) string {
	type pair struct{ k, v string }
	pairs := make([]pair, 0, len(params))
	for k, vs := range params {
		if k == skip {
			continue
		}
		ek := percentEncode(k)
		for _, v := range vs {
			pairs = append(pairs, pair{ek, percentEncode(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// percentEncode is RFC 3986 encoding: every byte but A-Z a-z 0-9 - _ . ~
// becomes %XX with upper-case hex digits.
func percentEncode(s string) string {
	const hexdigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexdigits[c>>4], hexdigits[c&0xF])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// parseQuery decodes a query string or form body.
func parseQuery(raw string) (map[string][]string, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// nonceKey names a nonce of one access key in fixed space, however long
// the client made either.
func nonceKey(accessKeyID, nonce string) [sha256.Size]byte {
	return sha256.Sum256([]byte(accessKeyID + "\x00" + nonce))
}

// nonceCache remembers recent nonces: at most max of them, and none older
// than ttl (when ttl > 0), oldest forgotten first.
type nonceCache struct {
	mu    sync.Mutex
	seen  map[[sha256.Size]byte]struct{}
	queue []nonceEntry
	head  int
	max   int
	ttl   time.Duration
}

type nonceEntry struct {
	key [sha256.Size]byte
	at  time.Time
}

func newNonceCache(max int, ttl time.Duration) *nonceCache {
	return &nonceCache{seen: make(map[[sha256.Size]byte]struct{}), max: max, ttl: ttl}
}

// use records key and reports whether it was new.
func (c *nonceCache) use(key [sha256.Size]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.head < len(c.queue) {
		e := c.queue[c.head]
		if len(c.seen) < c.max && (c.ttl <= 0 || now.Sub(e.at) <= c.ttl) {
			break
		}
		delete(c.seen, e.key)
		c.queue[c.head] = nonceEntry{}
		c.head++
	}
	if c.head > len(c.queue)/2 {
		c.queue = append(c.queue[:0], c.queue[c.head:]...)
		c.head = 0
	}
	if _, used := c.seen[key]; used {
		return false
	}
	c.seen[key] = struct{}{}
	c.queue = append(c.queue, nonceEntry{key, now})
	return true
}
