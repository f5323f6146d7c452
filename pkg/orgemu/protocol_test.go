package orgemu_test

// The wire itself, below any client: what a request that the SDK would
// never send gets, and what every answer looks like.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/handshake-janitor/handshake-janitor/pkg/orgemu"
)

// rawRequest is one hand-made request: signed over signBody (the body
// sent, unless sendBody is set) for the given scope and time.
type rawRequest struct {
	target       string
	signBody     string
	sendBody     *string
	region       string
	service      string
	signedAt     time.Time
	unsigned     bool
	contentType  string
	method       string
	secret       string
	changeHeader func(http.Header)
}

func (e *env) raw(t *testing.T, rr rawRequest) (int, http.Header, map[string]any) {
	t.Helper()
	body := rr.signBody
	if rr.sendBody != nil {
		body = *rr.sendBody
	}
	method := rr.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, e.ts.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ct := rr.contentType
	if ct == "" {
		ct = orgemu.ContentType
	}
	req.Header.Set("Content-Type", ct)
	if rr.target != "" {
		req.Header.Set("X-Amz-Target", orgemu.TargetPrefix+rr.target)
	}
	if !rr.unsigned {
		region, service, at, secret := rr.region, rr.service, rr.signedAt, rr.secret
		if region == "" {
			region = orgemu.SigningRegion
		}
		if service == "" {
			service = orgemu.SigningService
		}
		if at.IsZero() {
			at = time.Now()
		}
		if secret == "" {
			secret = orgemu.TestSecretAccessKey
		}
		sum := sha256.Sum256([]byte(rr.signBody))
		creds := aws.Credentials{AccessKeyID: orgemu.TestAccessKeyID, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, at); err != nil {
			t.Fatal(err)
		}
	}
	if rr.changeHeader != nil {
		rr.changeHeader(req.Header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		t.Fatalf("answer %q is not a JSON object: %v", raw, err)
	}
	return resp.StatusCode, resp.Header, out
}

func TestProtocolRefusals(t *testing.T) {
	e := newEnv(t, orgemu.Options{})
	mustSeed(t, e.srv, invite("h-protocol0001", "111122223333", time.Hour, e.clock.Now()))
	describe := `{"HandshakeId":"h-protocol0001"}`
	tampered := `{"HandshakeId":"h-protocol0002"}`
	cases := []struct {
		name    string
		rr      rawRequest
		status  int
		code    string
		message string // a part of the message, under the key the service uses
		key     string
	}{
		{"unsigned", rawRequest{target: "DescribeHandshake", signBody: describe, unsigned: true}, 400, "MissingAuthenticationTokenException", "Missing Authentication Token", "message"},
		{"body changed after signing", rawRequest{target: "DescribeHandshake", signBody: describe, sendBody: &tampered}, 400, "InvalidSignatureException", "does not match", "message"},
		{"wrong secret", rawRequest{target: "DescribeHandshake", signBody: describe, secret: "guess"}, 400, "InvalidSignatureException", "Secret Access Key", "message"},
		{"another region", rawRequest{target: "DescribeHandshake", signBody: describe, region: "eu-west-1"}, 400, "InvalidSignatureException", "valid region", "message"},
		{"another service", rawRequest{target: "DescribeHandshake", signBody: describe, service: "sts"}, 400, "InvalidSignatureException", "organizations", "message"},
		{"signed 20 minutes ago", rawRequest{target: "DescribeHandshake", signBody: describe, signedAt: time.Now().Add(-20 * time.Minute)}, 400, "InvalidSignatureException", "Signature expired", "message"},
		{"signed 20 minutes ahead", rawRequest{target: "DescribeHandshake", signBody: describe, signedAt: time.Now().Add(20 * time.Minute)}, 400, "InvalidSignatureException", "not yet current", "message"},
		{"no algorithm", rawRequest{target: "DescribeHandshake", signBody: describe, changeHeader: func(h http.Header) {
			h.Set("Authorization", strings.Replace(h.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS3", 1))
		}}, 400, "IncompleteSignatureException", "AWS4-HMAC-SHA256", "message"},
		{"unknown operation", rawRequest{target: "DeleteOrganization", signBody: `{}`}, 400, "UnknownOperationException", "", ""},
		{"no target", rawRequest{signBody: `{}`}, 400, "UnknownOperationException", "", ""},
		{"GET", rawRequest{target: "DescribeHandshake", method: http.MethodGet, signBody: ""}, 400, "UnknownOperationException", "", ""},
		{"not JSON", rawRequest{target: "DescribeHandshake", signBody: `HandshakeId=h-protocol0001`}, 400, "SerializationException", "", ""},
		{"wrong field type", rawRequest{target: "DescribeHandshake", signBody: `{"HandshakeId":7}`}, 400, "SerializationException", "", ""},
		{"form content type", rawRequest{target: "DescribeHandshake", signBody: describe, contentType: "application/x-www-form-urlencoded"}, 400, "SerializationException", "Content-Type", "message"},
		{"no HandshakeId", rawRequest{target: "DescribeHandshake", signBody: `{}`}, 400, "InvalidInputException", "HandshakeId", "Message"},
		{"ID too long", rawRequest{target: "CancelHandshake", signBody: `{"HandshakeId":"h-` + strings.Repeat("a", 33) + `"}`}, 400, "InvalidInputException", "34", "Message"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, h, out := e.raw(t, tc.rr)
			if status != tc.status || out["__type"] != tc.code {
				t.Fatalf("%d %v, want %d %s", status, out, tc.status, tc.code)
			}
			if tc.key != "" {
				msg, _ := out[tc.key].(string)
				if !strings.Contains(msg, tc.message) {
					t.Errorf("%s %q, want it to mention %q", tc.key, msg, tc.message)
				}
			}
			if h.Get("X-Amzn-Requestid") == "" || h.Get("Content-Type") != orgemu.ContentType {
				t.Errorf("headers %v: want x-amzn-RequestId and %s", h, orgemu.ContentType)
			}
		})
	}
	if got := e.srv.State("h-protocol0001"); got != orgemu.StateOpen {
		t.Errorf("state %q after refusals, want OPEN", got)
	}
}

func TestProtocolWritesTimestampsAsEpochSeconds(t *testing.T) {
	e := newEnv(t, orgemu.Options{})
	at := time.Date(2026, 5, 30, 8, 15, 42, 125_000_000, time.UTC)
	mustSeed(t, e.srv, orgemu.Handshake{ID: "h-timestamps01", RequestedAt: at, Parties: []orgemu.Party{{ID: "a@example.com", Type: orgemu.PartyEmail}}})
	status, h, out := e.raw(t, rawRequest{target: "DescribeHandshake", signBody: `{"HandshakeId":"h-timestamps01"}`})
	if status != 200 || h.Get("X-Amzn-Requestid") == "" {
		t.Fatalf("%d %v", status, out)
	}
	hs := out["Handshake"].(map[string]any)
	req, ok := hs["RequestedTimestamp"].(json.Number)
	if !ok || req.String() != "1780128942.125" {
		t.Errorf("RequestedTimestamp %#v, want the JSON number 1780128942.125", hs["RequestedTimestamp"])
	}
	if exp, ok := hs["ExpirationTimestamp"].(json.Number); !ok || exp.String() != "1781424942.125" {
		t.Errorf("ExpirationTimestamp %#v, want 15 days later as a number", hs["ExpirationTimestamp"])
	}
}

func TestProtocolRefusesAnUnsignedHeaderChange(t *testing.T) {
	e := newEnv(t, orgemu.Options{})
	mustSeed(t, e.srv, invite("h-headers00001", "111122223333", time.Hour, e.clock.Now()))
	// The target names the operation: a request signed for Describe and
	// sent as Cancel must not cancel.
	status, _, out := e.raw(t, rawRequest{target: "DescribeHandshake", signBody: `{"HandshakeId":"h-headers00001"}`,
		changeHeader: func(h http.Header) { h.Set("X-Amz-Target", orgemu.TargetPrefix+"CancelHandshake") }})
	if status != 400 || out["__type"] != "InvalidSignatureException" || e.srv.State("h-headers00001") != orgemu.StateOpen {
		t.Errorf("%d %v, state %s: want InvalidSignatureException and still OPEN", status, out, e.srv.State("h-headers00001"))
	}
}
