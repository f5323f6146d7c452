package rmemu_test

// Test-side request signing, written apart from the emulator's verifier
// (and in another style: url.Values encoding patched to RFC 3986, as the
// official SDK does) so that the two check each other.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/internal/emulator/emulatortest"
	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/rmemu"
)

// fakeClock is a service clock a test moves by hand.
type fakeClock = emulatortest.Clock

func newClock() *fakeClock {
	return emulatortest.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
}

// env is an emulator served over real HTTP on 127.0.0.1.
type env struct {
	srv    *rmemu.Server
	http   *httptest.Server
	client *http.Client
	clock  *fakeClock
}

func newEnv(t *testing.T, opts rmemu.Options) *env {
	t.Helper()
	e := &env{clock: newClock()}
	if opts.Clock == nil {
		opts.Clock = e.clock.Now
	}
	e.srv = rmemu.New(opts)
	e.http = httptest.NewServer(e.srv)
	t.Cleanup(e.http.Close)
	e.client = &http.Client{Timeout: 10 * time.Second}
	return e
}

// seed adds invitations created at the env's clock minus age.
func (e *env) seed(t *testing.T, hs ...handshake.Handshake) {
	t.Helper()
	if err := e.srv.Seed(hs...); err != nil {
		t.Fatalf("Seed: %v", err)
	}
}

func pending(id string, age time.Duration, now time.Time) handshake.Handshake {
	return handshake.Handshake{
		HandshakeID: id, TargetEntity: "someone@example.com", Note: "Welcome",
		Status: handshake.StatusPending, CreateTime: now.Add(-age),
	}
}

// Signature styles of a test request.
const (
	authV3   = "v3"
	authRPC  = "rpc"
	authNone = "none"
)

// call is one API request to build and sign.
type call struct {
	Method  string // default POST
	Action  string
	Version string // default rmemu.APIVersion; "-" for none
	Params  url.Values
	Form    bool   // parameters in a form body instead of the query
	Auth    string // authV3 (default), authRPC, authNone
	AK      string // default the test key
	Secret  string
	Token   string
	Date    time.Time // default now
	Nonce   string    // default unique
	// Mutate changes the request after it was signed.
	Mutate func(*http.Request)
}

var nonceSeq atomic.Int64

func (e *env) do(t *testing.T, c call) (*http.Response, []byte) {
	t.Helper()
	req := e.build(t, c)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", c.Action, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: read body: %v", c.Action, err)
	}
	return resp, body
}

// rfc3986 encodes like the official SDK: url.Values encoding with the
// three substitutions that make it RFC 3986.
func rfc3986(encoded string) string {
	r := strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~")
	return r.Replace(encoded)
}

func (e *env) build(t testing.TB, c call) *http.Request {
	t.Helper()
	if c.Method == "" {
		c.Method = http.MethodPost
	}
	if c.Version == "" {
		c.Version = rmemu.APIVersion
	}
	if c.Version == "-" {
		c.Version = ""
	}
	if c.Auth == "" {
		c.Auth = authV3
	}
	if c.AK == "" && c.Secret == "" {
		c.AK, c.Secret = rmemu.TestAccessKeyID, rmemu.TestAccessKeySecret
	}
	if c.Date.IsZero() {
		c.Date = time.Now()
	}
	if c.Nonce == "" {
		c.Nonce = fmt.Sprintf("test-nonce-%d-%d", time.Now().UnixNano(), nonceSeq.Add(1))
	}
	params := url.Values{}
	for k, v := range c.Params {
		params[k] = append([]string(nil), v...)
	}
	date := c.Date.UTC().Format("2006-01-02T15:04:05Z")

	u, err := url.Parse(e.http.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/"
	var body []byte

	switch c.Auth {
	case authRPC:
		params.Set("Action", c.Action)
		if c.Version != "" {
			params.Set("Version", c.Version)
		}
		if params.Get("Format") == "" {
			params.Set("Format", "JSON")
		}
		params.Set("AccessKeyId", c.AK)
		params.Set("SignatureMethod", "HMAC-SHA1")
		params.Set("SignatureVersion", "1.0")
		params.Set("SignatureNonce", c.Nonce)
		params.Set("Timestamp", date)
		if c.Token != "" {
			params.Set("SecurityToken", c.Token)
		}
		canonical := rfc3986(params.Encode())
		toSign := c.Method + "&%2F&" + url.QueryEscape(canonical)
		mac := hmac.New(sha1.New, []byte(c.Secret+"&"))
		mac.Write([]byte(toSign))
		params.Set("Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		if c.Form {
			body = []byte(params.Encode())
		} else {
			u.RawQuery = params.Encode()
		}
	default:
		if c.Form {
			body = []byte(params.Encode())
		} else {
			u.RawQuery = rfc3986(params.Encode())
		}
	}

	req, err := http.NewRequest(c.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if c.Form {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.Auth == authV3 {
		sum := sha256.Sum256(body)
		hashed := hex.EncodeToString(sum[:])
		headers := map[string]string{
			"host":                  u.Host,
			"x-acs-action":          c.Action,
			"x-acs-version":         c.Version,
			"x-acs-date":            date,
			"x-acs-signature-nonce": c.Nonce,
			"x-acs-content-sha256":  hashed,
		}
		if c.Version == "" {
			delete(headers, "x-acs-version")
		}
		if c.Token != "" {
			headers["x-acs-security-token"] = c.Token
		}
		if c.Form {
			headers["content-type"] = "application/x-www-form-urlencoded"
		}
		names := make([]string, 0, len(headers))
		for k := range headers {
			names = append(names, k)
		}
		sort.Strings(names)
		var canon strings.Builder
		fmt.Fprintf(&canon, "%s\n/\n%s\n", c.Method, u.RawQuery)
		for _, k := range names {
			fmt.Fprintf(&canon, "%s:%s\n", k, strings.TrimSpace(headers[k]))
		}
		fmt.Fprintf(&canon, "\n%s\n%s", strings.Join(names, ";"), hashed)
		canonSum := sha256.Sum256([]byte(canon.String()))
		toSign := "ACS3-HMAC-SHA256\n" + hex.EncodeToString(canonSum[:])
		mac := hmac.New(sha256.New, []byte(c.Secret))
		mac.Write([]byte(toSign))
		for k, v := range headers {
			if k != "host" {
				req.Header.Set(k, v)
			}
		}
		req.Header.Set("Authorization", fmt.Sprintf("ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s",
			c.AK, strings.Join(names, ";"), hex.EncodeToString(mac.Sum(nil))))
	} else if c.Auth == authNone {
		q := u.Query()
		q.Set("Action", c.Action)
		q.Set("Version", c.Version)
		for k, v := range params {
			q[k] = v
		}
		req.URL.RawQuery = q.Encode()
	}
	if c.Mutate != nil {
		c.Mutate(req)
	}
	return req
}

// apiError is the service's error body.
type apiError struct {
	RequestID string `json:"RequestId" xml:"RequestId"`
	HostID    string `json:"HostId" xml:"HostId"`
	Code      string `json:"Code" xml:"Code"`
	Message   string `json:"Message" xml:"Message"`
	Recommend string `json:"Recommend" xml:"Recommend"`
}

type handshakeBody struct {
	RequestID string              `json:"RequestId"`
	Handshake handshake.Handshake `json:"Handshake"`
}

type listBody struct {
	RequestID  string `json:"RequestId"`
	PageNumber int    `json:"PageNumber"`
	PageSize   int    `json:"PageSize"`
	TotalCount int    `json:"TotalCount"`
	Handshakes struct {
		Handshake []handshake.Handshake `json:"Handshake"`
	} `json:"Handshakes"`
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %T: %v; body %s", v, err, body)
	}
	return v
}

var requestIDPattern = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

// wantError checks an error answer: status, code, message, and the shape
// every error of the service has.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, code, message string) apiError {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d; body %s", resp.StatusCode, status, body)
	}
	got := decode[apiError](t, body)
	if got.Code != code {
		t.Errorf("Code = %q, want %q; body %s", got.Code, code, body)
	}
	if message != "" && got.Message != message {
		t.Errorf("Message = %q, want %q", got.Message, message)
	}
	if !requestIDPattern.MatchString(got.RequestID) {
		t.Errorf("RequestId = %q, want an upper-case UUID", got.RequestID)
	}
	if got.HostID != rmemu.HostID {
		t.Errorf("HostId = %q, want %q", got.HostID, rmemu.HostID)
	}
	if !strings.HasPrefix(got.Recommend, "https://") || !strings.Contains(got.Recommend, url.QueryEscape(code)) {
		t.Errorf("Recommend = %q, want a diagnosis URL naming %s", got.Recommend, code)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	return got
}

func params(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}
