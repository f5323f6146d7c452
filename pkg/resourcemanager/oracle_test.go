package resourcemanager

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/aliyun/credentials-go/credentials"
)

// The signing oracle: the official OpenAPI client (darabonba-openapi/v2)
// sends RPC calls with the V3 signature to a local server, which captures
// them; each captured request is re-signed by this package with the
// captured x-acs-date and nonce, and the Authorization headers must be
// byte-identical. Production code never links the official client; only
// this test does.

// capturedRequest is what the official client sent.
type capturedRequest struct {
	method   string
	host     string
	rawQuery string
	path     string
	header   http.Header
}

// oracleServer answers every request with a JSON success and keeps it.
type oracleServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []capturedRequest
}

func newOracleServer(t *testing.T) *oracleServer {
	s := &oracleServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, capturedRequest{r.Method, r.Host, r.URL.RawQuery, r.URL.Path, r.Header.Clone()})
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.Write([]byte(`{"RequestId":"ORACLE-0000"}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *oracleServer) take(t *testing.T) capturedRequest {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) != 1 {
		t.Fatalf("server captured %d requests, want 1", len(s.reqs))
	}
	r := s.reqs[0]
	s.reqs = s.reqs[:0]
	return r
}

// oracleCredential hands the official client fixed credentials without a
// provider name, so that it sends no x-acs-credentials-provider header
// (which this package does not send either).
type oracleCredential struct{ c Credentials }

func (o oracleCredential) typ() string {
	if o.c.SecurityToken != "" {
		return "sts"
	}
	return "access_key"
}
func (o oracleCredential) GetAccessKeyId() (*string, error)     { return &o.c.AccessKeyID, nil }
func (o oracleCredential) GetAccessKeySecret() (*string, error) { return &o.c.AccessKeySecret, nil }
func (o oracleCredential) GetSecurityToken() (*string, error)   { return &o.c.SecurityToken, nil }
func (o oracleCredential) GetBearerToken() *string              { return dara.String("") }
func (o oracleCredential) GetType() *string                     { return dara.String(o.typ()) }
func (o oracleCredential) GetCredential() (*credentials.CredentialModel, error) {
	return &credentials.CredentialModel{
		AccessKeyId:     dara.String(o.c.AccessKeyID),
		AccessKeySecret: dara.String(o.c.AccessKeySecret),
		SecurityToken:   dara.String(o.c.SecurityToken),
		Type:            dara.String(o.typ()),
	}, nil
}

const (
	alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	// Characters that need escaping in a query, and some that must not be.
	valueChars = alnum + " !\"#$%&'()*+,/:;<=>?@[\\]^`{|}~-_.\t"
)

var unicodeBits = []string{"é", "中文", "😀", "ß", "\u00a0", "Ω"}

func randString(r *rand.Rand, chars string, n int) string {
	var b strings.Builder
	for range n {
		if r.IntN(12) == 0 {
			b.WriteString(unicodeBits[r.IntN(len(unicodeBits))])
			continue
		}
		b.WriteByte(chars[r.IntN(len(chars))])
	}
	return b.String()
}

func randAlnum(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[r.IntN(len(alnum))]
	}
	return string(b)
}

// randCredentials returns AccessKey or (every other time) STS credentials
// with random contents, including secrets with characters a careless
// encoder would trip on.
func randCredentials(r *rand.Rand, sts bool) Credentials {
	c := Credentials{
		AccessKeyID:     "LTAI" + randAlnum(r, 20),
		AccessKeySecret: randAlnum(r, 30) + "+/=",
	}
	if sts {
		c.AccessKeyID = "STS." + randAlnum(r, 24)
		c.SecurityToken = "CAIS" + randAlnum(r, 200+r.IntN(400)) + "+/=="
	}
	return c
}

func TestSignatureMatchesOfficialClient(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 42))
	srv := newOracleServer(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	actions := []string{actionCancel, actionGet, actionList, "InviteAccountToResourceDirectory", "X" + randAlnum(r, 10)}

	const n = 120
	for i := range n {
		sts := i%2 == 1
		creds := randCredentials(r, sts)
		// Variants: how the official client gets its credentials
		// (a Credential without provider name, or AccessKeyId/Secret in
		// its Config, which adds a signed x-acs-credentials-provider
		// header), whether SignatureAlgorithm is left to its default, and
		// the request body type (no body either way).
		viaConfig := i%4 >= 2
		explicitAlg := i%3 == 0
		reqBodyType := []string{"formData", "json"}[i%2]
		action := actions[r.IntN(len(actions))]

		query := map[string]*string{}
		if r.IntN(2) == 0 {
			query["Format"] = dara.String("JSON")
		}
		query["HandshakeId"] = dara.String("h-" + randAlnum(r, 16))
		for range r.IntN(5) {
			query["P"+randAlnum(r, 1+r.IntN(8))] = dara.String(randString(r, valueChars, r.IntN(24)))
		}
		if r.IntN(8) == 0 {
			query["Empty"] = dara.String("")
		}

		cfg := &openapi.Config{
			Endpoint: dara.String(host),
			Protocol: dara.String("http"),
		}
		if viaConfig {
			cfg.AccessKeyId = dara.String(creds.AccessKeyID)
			cfg.AccessKeySecret = dara.String(creds.AccessKeySecret)
			if sts {
				cfg.SecurityToken = dara.String(creds.SecurityToken)
			}
		} else {
			cfg.Credential = oracleCredential{creds}
		}
		if explicitAlg {
			cfg.SignatureAlgorithm = dara.String(signAlgorithm)
		}
		official, err := openapi.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		params := &openapi.Params{
			Action:      dara.String(action),
			Version:     dara.String(apiVersion),
			Protocol:    dara.String("HTTP"),
			Pathname:    dara.String("/"),
			Method:      dara.String("POST"),
			AuthType:    dara.String("AK"),
			Style:       dara.String("RPC"),
			ReqBodyType: dara.String(reqBodyType),
			BodyType:    dara.String("json"),
		}
		if _, err := official.CallApi(params, &openapi.OpenApiRequest{Query: query}, &dara.RuntimeOptions{}); err != nil {
			t.Fatalf("official client: %v", err)
		}
		got := srv.take(t)
		want := got.header.Get("Authorization")
		if !strings.HasPrefix(want, signAlgorithm+" ") {
			t.Fatalf("official client did not sign with %s: %q", signAlgorithm, want)
		}
		date, nonce := got.header.Get(hdrDate), got.header.Get(hdrNonce)

		// 1. This package's own request for the same call, built by the
		// production path, signed with the captured date and nonce.
		values, err := url.ParseQuery(got.rawQuery)
		if err != nil {
			t.Fatal(err)
		}
		var ps []param
		for k, vs := range values {
			for _, v := range vs {
				ps = append(ps, param{k, v})
			}
		}
		ours, err := newRequest(context.Background(), "http://"+host+"/?"+encodeQuery(ps), got.header.Get(hdrAction))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range got.header {
			// The one header the official client signs that this
			// package has no use for.
			if strings.EqualFold(k, "x-acs-credentials-provider") {
				if !viaConfig {
					t.Fatalf("unexpected %s header", k)
				}
				ours.Header[k] = v
			}
		}
		if err := sign(ours, creds, date, nonce); err != nil {
			t.Fatal(err)
		}
		if g := ours.Header.Get("Authorization"); g != want {
			t.Fatalf("request %d (action %s, sts %v, query %q):\nours     %s\nofficial %s", i, action, sts, got.rawQuery, g, want)
		}
		// Every signed header carries the same value as the official one.
		_, signedList, _ := strings.Cut(want, "SignedHeaders=")
		signedList, _, _ = strings.Cut(signedList, ",")
		for name := range strings.SplitSeq(signedList, ";") {
			gotV, ourV := got.header.Get(name), ours.Header.Get(name)
			if name == "host" {
				gotV, ourV = got.host, ours.URL.Host
			}
			if gotV != ourV {
				t.Fatalf("request %d: header %s: ours %q, official %q", i, name, ourV, gotV)
			}
		}

		// 2. The captured request itself, as sent (query encoded with
		// "+" for spaces, headers as the official client named them),
		// re-signed: exercises the canonicalization of foreign input.
		u := &url.URL{Scheme: "http", Host: got.host, Path: got.path, RawQuery: got.rawQuery}
		foreign := &http.Request{Method: got.method, URL: u, Host: got.host, Header: got.header.Clone()}
		foreign.Header.Del("Authorization")
		if err := sign(foreign, creds, date, nonce); err != nil {
			t.Fatal(err)
		}
		if g := foreign.Header.Get("Authorization"); g != want {
			t.Fatalf("request %d re-signed as captured (query %q):\nours     %s\nofficial %s", i, got.rawQuery, g, want)
		}
	}
}
