package orgemu

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// amzDateLayout is how X-Amz-Date is written.
const amzDateLayout = "20060102T150405Z"

const (
	algorithm            = "AWS4-HMAC-SHA256"
	msgInvalidToken      = "The security token included in the request is invalid."
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// signer recomputes signatures; the official signer holds no state that a
// concurrent use could race on.
var signer = v4.NewSigner()

// identity is who signed a request, as far as it was established.
type identity struct {
	accessKeyID string
	session     bool // a session token was presented and matched the key
}

// authorization is the parsed Authorization header.
type authorization struct {
	keyID         string
	date          string // scope date, YYYYMMDD
	region        string
	service       string
	terminator    string
	signedHeaders []string
	signature     string
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=AKID/date/region/
// service/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(h string) (authorization, string) {
	var a authorization
	alg, rest, _ := strings.Cut(h, " ")
	if alg != algorithm {
		return a, "Authorization header requires the algorithm " + algorithm + "."
	}
	var credential, signed string
	var haveSig bool
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			a.signature, haveSig = v, true
		}
	}
	switch {
	case credential == "":
		return a, "Authorization header requires 'Credential' parameter. Authorization=" + bounded(h, 80)
	case signed == "":
		return a, "Authorization header requires 'SignedHeaders' parameter. Authorization=" + bounded(h, 80)
	case !haveSig || a.signature == "":
		return a, "Authorization header requires 'Signature' parameter. Authorization=" + bounded(h, 80)
	}
	fields := strings.Split(credential, "/")
	if len(fields) != 5 {
		return a, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + bounded(credential, 80) + "'"
	}
	a.keyID, a.date, a.region, a.service, a.terminator = fields[0], fields[1], fields[2], fields[3], fields[4]
	a.signedHeaders = strings.Split(signed, ";")
	return a, ""
}

// authenticate verifies the request's SigV4 signature, key, session token
// and date, in the order the service reports them.
func (s *Server) authenticate(q *request) (identity, *response) {
	r := q.r
	header := r.Header.Get("Authorization")
	if header == "" {
		return identity{}, frontDoorError(codeMissingAuthentication, "Missing Authentication Token")
	}
	a, problem := parseAuthorization(header)
	if problem != "" {
		return identity{}, frontDoorError(codeIncompleteSignature, problem)
	}
	who := identity{accessKeyID: a.keyID}
	rawDate := r.Header.Get("X-Amz-Date")
	if rawDate == "" {
		return who, frontDoorError(codeIncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization="+bounded(header, 80))
	}
	signedAt, err := time.Parse(amzDateLayout, rawDate)
	if err != nil {
		return who, frontDoorError(codeIncompleteSignature, "Date must be in ISO-8601 'basic format'. Got '"+bounded(rawDate, 40)+"'. See http://en.wikipedia.org/wiki/ISO_8601")
	}
	if !contains(a.signedHeaders, "host") {
		return who, frontDoorError(codeIncompleteSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}

	c, known := s.creds[a.keyID]
	if !known {
		return who, frontDoorError(codeUnrecognizedClient, msgInvalidToken)
	}
	token := r.Header.Get("X-Amz-Security-Token")
	switch {
	case c.SessionToken == "" && token != "",
		c.SessionToken != "" && !hmac.Equal([]byte(token), []byte(c.SessionToken)):
		return who, frontDoorError(codeUnrecognizedClient, msgInvalidToken)
	case c.SessionToken != "" && !c.Expires.IsZero() && !time.Now().Before(c.Expires):
		return who, frontDoorError(codeExpiredToken, "The security token included in the request is expired")
	}
	who.session = c.SessionToken != ""

	if a.date != signedAt.Format("20060102") {
		return who, frontDoorError(codeInvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+bounded(a.date, 16)+"' != '"+signedAt.Format("20060102")+"', from '"+rawDate+"'.")
	}
	if a.region != SigningRegion {
		return who, frontDoorError(codeInvalidSignature, "Credential should be scoped to a valid region. ")
	}
	if a.service != SigningService {
		return who, frontDoorError(codeInvalidSignature, "Credential should be scoped to correct service: '"+SigningService+"'. ")
	}
	if a.terminator != "aws4_request" {
		return who, frontDoorError(codeInvalidSignature, "Credential should be scoped with a valid terminator: 'aws4_request', not '"+bounded(a.terminator, 20)+"'. ")
	}
	if s.skew >= 0 {
		now := time.Now().UTC()
		if signedAt.Before(now.Add(-s.skew)) {
			return who, frontDoorError(codeInvalidSignature, "Signature expired: "+rawDate+" is now earlier than "+now.Add(-s.skew).Format(amzDateLayout)+" ("+now.Format(amzDateLayout)+" - 15 min.)")
		}
		if signedAt.After(now.Add(s.skew)) {
			return who, frontDoorError(codeInvalidSignature, "Signature not yet current: "+rawDate+" is still later than "+now.Add(s.skew).Format(amzDateLayout)+" ("+now.Format(amzDateLayout)+" + 15 min.)")
		}
	}

	want, err := recompute(r, q.body, a, c.SecretAccessKey, token, signedAt)
	if err != nil || !hmac.Equal([]byte(want), []byte(a.signature)) {
		return who, frontDoorError(codeInvalidSignature, msgSignatureMismatch)
	}
	return who, nil
}

// recompute signs a copy of the received request, holding only the headers
// the client said it signed, with the official signer and the secret the
// emulator knows, and returns the signature.
func recompute(r *http.Request, body []byte, a authorization, secret, token string, signedAt time.Time) (string, error) {
	u := &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	if u.Path == "" {
		u.Path = "/"
	}
	c := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: make(http.Header)}
	signToken := false
	for _, name := range a.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			c.ContentLength = r.ContentLength
		case "x-amz-security-token":
			signToken = true
		default:
			if v := r.Header.Values(name); len(v) > 0 {
				c.Header[http.CanonicalHeaderKey(name)] = v
			}
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: a.keyID, SecretAccessKey: secret, SessionToken: token}
	err := signer.SignHTTP(context.Background(), creds, c, hex.EncodeToString(sum[:]), SigningService, SigningRegion, signedAt,
		func(o *v4.SignerOptions) { o.DisableSessionToken = !signToken })
	if err != nil {
		return "", err
	}
	_, sig, _ := strings.Cut(c.Header.Get("Authorization"), "Signature=")
	return sig, nil
}
