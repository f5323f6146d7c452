package logging

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"sync"
)

// redactingWriter sits between zerolog and the output. zerolog hands it each
// event as one complete JSON line in one Write; hooks cannot see fields, so
// the redaction happens here, on the encoded bytes.
//
// Each line is walked once by a small JSON scanner that looks only at keys
// (strings are skipped with bytes.IndexByte). A line with no suspicious key,
// which is nearly every line, goes to w unchanged and unallocated. Otherwise
// the values of suspicious keys, whatever their type and at any depth, are
// replaced by "[REDACTED]" and everything else is copied byte for byte: key
// order, numbers and escapes are kept, and the result is still valid JSON.
// Nothing is ever dropped: should a line be malformed (only RawJSON misuse
// can do that), the values found before the fault are redacted and the rest
// passes as it came.
type redactingWriter struct {
	mu  sync.Mutex // one line at a time: lines never interleave; guards the rest
	w   io.Writer
	sc  scanner
	buf []byte // reused for redacted lines
}

// maxKeptBuf bounds the buffer kept between writes after an unusually long
// redacted line.
const maxKeptBuf = 64 << 10

// Write scans under the lock: a few hundred nanoseconds, less than the write
// to stdout that the lock orders anyway, and it lets the scanner's span list
// and key cache be reused without allocation.
func (r *redactingWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sc.reset(p)
	r.sc.scanAll()
	out := p
	if len(r.sc.spans) > 0 {
		r.buf = redactSpans(r.buf[:0], p, r.sc.spans)
		out = r.buf
	}
	r.sc.b = nil // do not keep the caller's buffer
	_, err := r.w.Write(out)
	if cap(r.buf) > maxKeptBuf {
		r.buf = nil
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// redactSpans appends p to dst with each span replaced by "[REDACTED]" as a
// JSON string. Spans are in order and do not overlap.
func redactSpans(dst, p []byte, spans []span) []byte {
	prev := 0
	for _, sp := range spans {
		dst = append(dst, p[prev:sp.start]...)
		dst = append(dst, `"`+Redacted+`"`...)
		prev = sp.end
	}
	return append(dst, p[prev:]...)
}

// span is the byte range [start, end) of a value to redact.
type span struct{ start, end int }

// maxDepth bounds nesting so hostile input cannot make the scanner recurse
// without limit; zerolog's own lines are a few levels deep at most.
const maxDepth = 128

// scanner walks JSON values and records the spans of values whose key is
// sensitive. It validates only as much as it needs to find those spans
// exactly: on anything malformed it stops, keeping the spans found in what
// it could parse.
type scanner struct {
	b     []byte
	i     int
	depth int
	spans []span

	// known caches sensitiveKey by the key's raw bytes: a program logs the
	// same few dozen names over and over. Bounded against hostile keys.
	known map[string]bool
}

// maxKnown bounds the key cache.
const maxKnown = 1024

func (s *scanner) reset(b []byte) {
	s.b, s.i, s.depth, s.spans = b, 0, 0, s.spans[:0]
	if cap(s.spans) > 1024 {
		s.spans = nil
	}
}

// sensitive is sensitiveKey through the cache.
func (s *scanner) sensitive(quoted []byte) bool {
	if v, ok := s.known[string(quoted)]; ok {
		return v
	}
	v := sensitiveKey(quoted)
	if s.known == nil {
		s.known = make(map[string]bool)
	}
	if len(s.known) < maxKnown {
		s.known[string(quoted)] = v
	}
	return v
}

// scanAll scans a sequence of whitespace-separated values (normally one
// line: an object and a newline).
func (s *scanner) scanAll() {
	for {
		s.skipSpace()
		if s.i >= len(s.b) || !s.value() {
			return
		}
	}
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans the value at s.i and reports whether it was well formed.
func (s *scanner) value() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '{':
		return s.object()
	case '[':
		return s.array()
	case '"':
		return s.str()
	default:
		return s.literal()
	}
}

// str scans a string starting at the quote at s.i. A quote ends the string
// unless an odd number of backslashes precede it.
func (s *scanner) str() bool {
	i := s.i + 1
	for {
		j := bytes.IndexByte(s.b[i:], '"')
		if j < 0 {
			return false
		}
		i += j
		n := 0
		for k := i - 1; k > s.i && s.b[k] == '\\'; k-- {
			n++
		}
		i++
		if n%2 == 0 {
			s.i = i
			return true
		}
	}
}

// literal scans a number, true, false or null.
func (s *scanner) literal() bool {
	switch c := s.b[s.i]; {
	case c == '-', '0' <= c && c <= '9', c == 't', c == 'f', c == 'n':
	default:
		return false
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return s.i > start
		case '"', '{', '[', ':':
			return false
		}
		s.i++
	}
	return true
}

func (s *scanner) object() bool { return s.container('}') }

func (s *scanner) array() bool { return s.container(']') }

// container scans an object (end '}') or an array (end ']') from its opening
// byte: the same comma-separated list, of members or of values.
func (s *scanner) container(end byte) bool {
	if s.depth++; s.depth > maxDepth {
		return false
	}
	s.i++ // '{' or '['
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == end {
		s.i++
		s.depth--
		return true
	}
	for {
		s.skipSpace()
		var ok bool
		if end == '}' {
			ok = s.member()
		} else {
			ok = s.value()
		}
		if !ok {
			return false
		}
		s.skipSpace()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case end:
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// member scans "key": value in an object; the value of a sensitive key
// becomes one span, whatever was found inside it.
func (s *scanner) member() bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	keyStart := s.i
	if !s.str() {
		return false
	}
	key := s.b[keyStart:s.i] // with its quotes
	s.skipSpace()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return false
	}
	s.i++
	s.skipSpace()
	valueStart, n := s.i, len(s.spans)
	if !s.value() {
		return false
	}
	if s.sensitive(key) {
		// The whole value goes; spans found inside it are moot.
		s.spans = append(s.spans[:n], span{valueStart, s.i})
	}
	return true
}

// sensitiveKey reports whether a JSON key (with its quotes) names a secret.
// The name is folded to lower case with everything but letters and digits
// dropped, so access_key, AccessKey, access-key and ACCESS.KEY all read
// "accesskey"; then it is searched for the words below.
func sensitiveKey(quoted []byte) bool {
	key := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(key, '\\') >= 0 {
		// Rare: decode escapes so that "\u0074oken" is seen as "token".
		var s string
		if err := json.Unmarshal(quoted, &s); err != nil {
			return true // cannot tell: err on the side of hiding
		}
		key = []byte(s)
	}
	var arr [64]byte
	n := arr[:0]
	for _, c := range key {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			n = append(n, c)
		case 'A' <= c && c <= 'Z':
			n = append(n, c+('a'-'A'))
		}
	}
	return containsSecretWord(n)
}

// containsSecretWord reports whether the folded name n contains a word that
// marks a secret. api_request_id, handshake_id, invocation_id and the like
// contain none.
// The first four bytes of each word, as binary.LittleEndian.Uint32 reads them.
const (
	pAcce = uint32('a') | uint32('c')<<8 | uint32('c')<<16 | uint32('e')<<24
	pAuth = uint32('a') | uint32('u')<<8 | uint32('t')<<16 | uint32('h')<<24
	pApik = uint32('a') | uint32('p')<<8 | uint32('i')<<16 | uint32('k')<<24
	pCred = uint32('c') | uint32('r')<<8 | uint32('e')<<16 | uint32('d')<<24
	pCook = uint32('c') | uint32('o')<<8 | uint32('o')<<16 | uint32('k')<<24
	pPass = uint32('p') | uint32('a')<<8 | uint32('s')<<16 | uint32('s')<<24
	pPriv = uint32('p') | uint32('r')<<8 | uint32('i')<<16 | uint32('v')<<24
	pSecr = uint32('s') | uint32('e')<<8 | uint32('c')<<16 | uint32('r')<<24
	pSign = uint32('s') | uint32('i')<<8 | uint32('g')<<16 | uint32('n')<<24
	pToke = uint32('t') | uint32('o')<<8 | uint32('k')<<16 | uint32('e')<<24
)

func containsSecretWord(n []byte) bool {
	if string(n) == "credentialssecretid" { // FieldCredentialsSecretID: a name, not a secret
		return false
	}
	// Every word is at least 5 bytes long; look at 4 bytes at a time and
	// compare the whole word only when they match its start.
	for i := 0; i+5 <= len(n); i++ {
		var w string
		switch binary.LittleEndian.Uint32(n[i:]) {
		case pAcce:
			w = "accesskey"
		case pAuth:
			w = "authorization"
		case pApik:
			w = "apikey"
		case pCred:
			w = "credential"
		case pCook:
			w = "cookie"
		case pPass:
			if hasPrefix(n[i:], "passwd") {
				return true
			}
			w = "password"
		case pPriv:
			w = "privatekey"
		case pSecr:
			w = "secret"
		case pSign:
			w = "signature"
		case pToke:
			w = "token"
		default:
			continue
		}
		if hasPrefix(n[i:], w) {
			return true
		}
	}
	return false
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}
