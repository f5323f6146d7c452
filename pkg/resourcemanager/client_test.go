package resourcemanager

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// The Client against hand-written HTTP handlers, for what the emulator does
// not do: XML answers, hanging servers, broken bodies, redirects, TLS.

const okBody = `{"RequestId":"R-OK","Handshake":{"HandshakeId":"h-abcdEFGH12345678","Status":"Cancelled","CreateTime":"2024-01-02T03:04:05Z"}}`

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

var testID = handshake.ID("h-abcdEFGH12345678")

func TestClientSendsASignedRPCRequest(t *testing.T) {
	var got *http.Request
	var body []byte
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, okBody)
	})
	c := fastClient(t, s.URL, Options{Credentials: StaticCredentials(testSTS)})
	res, err := c.CancelHandshake(context.Background(), testID)
	if err != nil {
		t.Fatal(err)
	}
	if res.RequestID != "R-OK" || res.Handshake.Status != handshake.StatusCancelled || res.Attempts != 1 {
		t.Fatalf("result %+v", res)
	}
	if got.Method != http.MethodPost || got.URL.Path != "/" || len(body) != 0 {
		t.Fatalf("%s %s with %d body bytes, want POST / with none", got.Method, got.URL.Path, len(body))
	}
	if q := got.URL.RawQuery; q != "Format=JSON&HandshakeId=h-abcdEFGH12345678" {
		t.Fatalf("query %q", q)
	}
	for h, want := range map[string]string{
		"X-Acs-Action": "CancelHandshake", "X-Acs-Version": "2020-03-31",
		"X-Acs-Security-Token": testSTS.SecurityToken, "X-Acs-Content-Sha256": emptyPayloadHash,
		"Accept": "application/json",
	} {
		if v := got.Header.Get(h); v != want {
			t.Errorf("%s = %q, want %q", h, v, want)
		}
	}
	if _, err := time.Parse(dateLayout, got.Header.Get("X-Acs-Date")); err != nil {
		t.Errorf("x-acs-date %q: %v", got.Header.Get("X-Acs-Date"), err)
	}
	if a := got.Header.Get("Authorization"); !strings.HasPrefix(a, "ACS3-HMAC-SHA256 Credential="+testSTS.AccessKeyID+",SignedHeaders=host;") {
		t.Errorf("Authorization %q", a)
	}
}

func TestClientReadsXMLAnswers(t *testing.T) {
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml;charset=utf-8")
		if r.Header.Get("X-Acs-Action") == actionGet {
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><GetHandshakeResponse><RequestId>R-X</RequestId><Handshake><HandshakeId>h-abcdEFGH12345678</HandshakeId><Status>Pending</Status><ExpireTime>2024-01-16T03:04:05Z</ExpireTime></Handshake></GetHandshakeResponse>`)
			return
		}
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><RequestId>R-E</RequestId><HostId>resourcemanager.aliyuncs.com</HostId><Code>HandshakeStatusMismatch</Code><Message>The invitation is invalid.</Message><Recommend>r</Recommend></Error>`)
	})
	c := fastClient(t, s.URL, Options{})
	res, err := c.GetHandshake(context.Background(), testID)
	if err != nil || res.RequestID != "R-X" || res.Handshake.Status != handshake.StatusPending || res.Handshake.ExpireTime.IsZero() {
		t.Fatalf("GetHandshake = %+v, %v", res, err)
	}
	res, err = c.CancelHandshake(context.Background(), testID)
	if !IsStatusMismatch(err) || res.RequestID != "R-E" {
		t.Fatalf("CancelHandshake = %+v, %v; want the XML 409", res, err)
	}
}

func TestClientRetriesAnAttemptThatTimesOut(t *testing.T) {
	var n atomic.Int32
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			<-r.Context().Done() // hang until the client gives up
			return
		}
		io.WriteString(w, okBody)
	})
	c := fastClient(t, s.URL, Options{Timeout: 300 * time.Millisecond})
	res, err := c.CancelHandshake(context.Background(), testID)
	if err != nil || res.Attempts != 2 {
		t.Fatalf("err %v after %d attempts; want success on the second", err, res.Attempts)
	}

	// Every attempt hanging: Timeout, retryable, MaxAttempts attempts.
	s2 := serve(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c2 := fastClient(t, s2.URL, Options{Timeout: 50 * time.Millisecond, MaxAttempts: 2})
	res, err = c2.CancelHandshake(context.Background(), testID)
	if ErrorCode(err) != "Timeout" || !IsRetryable(err) || res.Attempts != 2 {
		t.Fatalf("err %v (code %q) after %d attempts", err, ErrorCode(err), res.Attempts)
	}
}

func TestClientNetworkErrorsAreRetried(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	url := s.URL
	s.Close() // nothing listens there any more
	c := fastClient(t, url, Options{MaxAttempts: 3})
	res, err := c.GetHandshake(context.Background(), testID)
	if ErrorCode(err) != "NetworkError" || !IsRetryable(err) || res.Attempts != 3 {
		t.Fatalf("err %v (code %q) after %d attempts", err, ErrorCode(err), res.Attempts)
	}
}

func TestClientUnreadableAnswerIsNotRetried(t *testing.T) {
	var n atomic.Int32
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"RequestId": "R", "Handshake": `)
	})
	c := fastClient(t, s.URL, Options{})
	_, err := c.GetHandshake(context.Background(), testID)
	if ErrorCode(err) != "InvalidResponse" || IsRetryable(err) || n.Load() != 1 {
		t.Fatalf("err %v (code %q), %d requests", err, ErrorCode(err), n.Load())
	}
}

func TestClientGatewayErrorsAreRetried(t *testing.T) {
	var n atomic.Int32
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html>bad gateway</html>")
			return
		}
		io.WriteString(w, okBody)
	})
	c := fastClient(t, s.URL, Options{})
	res, err := c.CancelHandshake(context.Background(), testID)
	if err != nil || res.Attempts != 3 {
		t.Fatalf("err %v after %d attempts, want success on the third", err, res.Attempts)
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	other := serve(t, func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) })
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	})
	c := fastClient(t, s.URL, Options{})
	_, err := c.GetHandshake(context.Background(), testID)
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusTemporaryRedirect || elsewhere.Load() != 0 {
		t.Fatalf("err %v, %d requests elsewhere; want the 307 reported and not followed", err, elsewhere.Load())
	}
}

func TestClientVerifiesTLS(t *testing.T) {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okBody) }))
	t.Cleanup(s.Close)
	// The default client does not trust the test server's certificate.
	c := fastClient(t, s.URL, Options{})
	res, err := c.GetHandshake(context.Background(), testID)
	if ErrorCode(err) != "TLSError" || IsRetryable(err) || res.Attempts != 1 {
		t.Fatalf("err %v (code %q) after %d attempts, want TLSError at once", err, ErrorCode(err), res.Attempts)
	}
	// A client that trusts it works.
	c = fastClient(t, s.URL, Options{HTTPClient: s.Client()})
	if _, err := c.GetHandshake(context.Background(), testID); err != nil {
		t.Fatal(err)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	bad := []struct {
		name string
		opts Options
		says string
	}{
		{"plain http to a remote host", Options{Endpoint: "http://resourcemanager.aliyuncs.com"}, "loopback"},
		{"negative timeout", Options{Timeout: -1}, "Timeout"},
		{"negative QPS", Options{QPS: -1}, "QPS"},
		{"NaN QPS", Options{QPS: math.NaN()}, "QPS"},
		{"infinite QPS", Options{QPS: math.Inf(1)}, "QPS"},
		{"negative attempts", Options{MaxAttempts: -1}, "MaxAttempts"},
		{"too many attempts", Options{MaxAttempts: 1000}, "MaxAttempts"},
		{"TLS verification off", Options{HTTPClient: insecure}, "InsecureSkipVerify"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("New: %v, want an error naming %s", err, tt.says)
			}
		})
	}
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.base != "https://resourcemanager.aliyuncs.com/?" || c.timeout != DefaultTimeout || c.maxAttempts != DefaultMaxAttempts || c.Rate() != DefaultQPS {
		t.Fatalf("defaults not applied: %+v", c)
	}
	checkTransport(t, c.hc.Transport)
}

// checkTransport checks that a default client's transport bounds every
// phase and verifies certificates.
func checkTransport(t *testing.T, rt http.RoundTripper) {
	t.Helper()
	switch tr := rt.(type) {
	case *transport:
		if tr.dialer.Timeout == 0 || tr.tlsWait == 0 || tr.tlsConfig.InsecureSkipVerify || tr.tlsConfig.MinVersion < tls.VersionTLS12 {
			t.Fatalf("transport timeouts or TLS settings not set: %+v", tr)
		}
	case *http.Transport:
		if tr.ResponseHeaderTimeout != DefaultTimeout || tr.TLSHandshakeTimeout == 0 || tr.TLSClientConfig.InsecureSkipVerify || tr.Proxy == nil {
			t.Fatalf("transport timeouts not set: %+v", tr)
		}
	default:
		t.Fatalf("transport %T", rt)
	}
}

func TestDefaultClientUsesHTTPTransportOnlyBehindAProxy(t *testing.T) {
	ep, err := ParseEndpoint("")
	if err != nil {
		t.Fatal(err)
	}
	proxy, _ := url.Parse("http://127.0.0.1:3128")
	tests := []struct {
		name  string
		proxy func(*http.Request) (*url.URL, error)
		want  string
	}{
		{"no proxy", func(*http.Request) (*url.URL, error) { return nil, nil }, "*resourcemanager.transport"},
		{"a proxy for the endpoint", http.ProxyURL(proxy), "*http.Transport"},
		{"a bad proxy setting", func(*http.Request) (*url.URL, error) { return nil, errors.New("bad") }, "*http.Transport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc := newHTTPClient(ep, DefaultTimeout, tt.proxy)
			if got := fmt.Sprintf("%T", hc.Transport); got != tt.want {
				t.Fatalf("transport %s, want %s", got, tt.want)
			}
			checkTransport(t, hc.Transport)
			if hc.CheckRedirect == nil {
				t.Fatal("redirects would be followed")
			}
		})
	}
}

func TestReadBodyReadsUpToOneByteOverTheLimit(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		length int64 // announced; -1 unknown
		want   int
	}{
		{"empty", 0, 0, 0},
		{"announced", 700, 700, 700},
		{"unknown length", 5000, -1, 5000},
		{"announced wrong, shorter", 300, 700, 300},
		{"announced wrong, longer", 900, 700, 900},
		{"at the limit", maxResponseBytes, maxResponseBytes, maxResponseBytes},
		{"over the limit", maxResponseBytes + 10, -1, maxResponseBytes + 1},
		{"over the limit, announced", maxResponseBytes + 10, maxResponseBytes + 10, maxResponseBytes + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Repeat("x", tt.size)
			got, err := readBody(iotest.OneByteReader(strings.NewReader(src)), tt.length)
			if err != nil || len(got) != tt.want || string(got) != src[:tt.want] {
				t.Fatalf("readBody: %d bytes, %v; want %d", len(got), err, tt.want)
			}
		})
	}
	if _, err := readBody(iotest.ErrReader(io.ErrUnexpectedEOF), -1); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err %v, want the reader's", err)
	}
}

func TestHandshakesPagesDoNotCarryFieldsOver(t *testing.T) {
	// Two pages: 100 invitations with a Note and a target, then one with
	// neither. The arrays of a page are reused for the next: nothing of
	// the first page may show through in the second, in JSON or XML.
	entry := func(i int, full bool) (js, xm string) {
		id := fmt.Sprintf("h-%016d", i)
		if full {
			return fmt.Sprintf(`{"HandshakeId":%q,"Note":"first page","TargetEntity":"a@example.com","Status":"Pending","CreateTime":"2024-01-02T03:04:05Z"}`, id),
				fmt.Sprintf(`<Handshake><HandshakeId>%s</HandshakeId><Note>first page</Note><TargetEntity>a@example.com</TargetEntity><Status>Pending</Status><CreateTime>2024-01-02T03:04:05Z</CreateTime></Handshake>`, id)
		}
		return fmt.Sprintf(`{"HandshakeId":%q}`, id), fmt.Sprintf(`<Handshake><HandshakeId>%s</HandshakeId></Handshake>`, id)
	}
	for _, format := range []string{"json", "xml"} {
		t.Run(format, func(t *testing.T) {
			s := serve(t, func(w http.ResponseWriter, r *http.Request) {
				var items []string
				if r.URL.Query().Get("PageNumber") == "1" {
					for i := range pageSize {
						js, xm := entry(i, true)
						items = append(items, map[string]string{"json": js, "xml": xm}[format])
					}
				} else {
					js, xm := entry(pageSize, false)
					items = append(items, map[string]string{"json": js, "xml": xm}[format])
				}
				if format == "xml" {
					w.Header().Set("Content-Type", "text/xml")
					fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><ListHandshakesForResourceDirectoryResponse><RequestId>R</RequestId><TotalCount>%d</TotalCount><Handshakes>%s</Handshakes></ListHandshakesForResourceDirectoryResponse>`, pageSize+1, strings.Join(items, ""))
					return
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"RequestId":"R","TotalCount":%d,"Handshakes":{"Handshake":[%s]}}`, pageSize+1, strings.Join(items, ","))
			})
			c := fastClient(t, s.URL, Options{})
			var got []handshake.Handshake
			for h, err := range c.Handshakes(context.Background()) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, h)
			}
			if len(got) != pageSize+1 {
				t.Fatalf("%d invitations, want %d", len(got), pageSize+1)
			}
			if first := got[0]; first.Note != "first page" || first.TargetEntity != "a@example.com" || first.CreateTime.IsZero() {
				t.Fatalf("first page's invitation read as %+v", first)
			}
			if last := got[pageSize]; last.HandshakeID != fmt.Sprintf("h-%016d", pageSize) || last.Note != "" || last.TargetEntity != "" || last.Status != "" || !last.CreateTime.IsZero() {
				t.Fatalf("second page's invitation read as %+v: fields of the first page showed through", last)
			}
		})
	}
}
