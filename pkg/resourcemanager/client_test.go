package resourcemanager

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
	"github.com/handshake-janitor/handshake-janitor/pkg/pacing"
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

func TestClientReadsXMLErrors(t *testing.T) {
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml;charset=utf-8")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><RequestId>R-E</RequestId><HostId>resourcemanager.aliyuncs.com</HostId><Code>HandshakeStatusMismatch</Code><Message>The invitation is invalid.</Message><Recommend>r</Recommend></Error>`)
	})
	c := fastClient(t, s.URL, Options{})
	res, err := c.CancelHandshake(context.Background(), testID)
	if !IsStatusMismatch(err) || res.RequestID != "R-E" {
		t.Fatalf("CancelHandshake = %+v, %v; want the XML 409", res, err)
	}
}

func TestClientRefusesASuccessThatIsNotJSON(t *testing.T) {
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><CancelHandshakeResponse><RequestId>R-X</RequestId></CancelHandshakeResponse>`)
	})
	c := fastClient(t, s.URL, Options{})
	_, err := c.CancelHandshake(context.Background(), testID)
	if ErrorCode(err) != "InvalidResponse" {
		t.Fatalf("err %v (code %q), want InvalidResponse: every request asks for JSON", err, ErrorCode(err))
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
	c := fastClient(t, s.URL, Options{})
	res, err := c.CancelHandshake(withAPITimeout(context.Background(), 300*time.Millisecond), testID)
	if err != nil || res.Attempts != 2 {
		t.Fatalf("err %v after %d attempts; want success on the second", err, res.Attempts)
	}

	// Every attempt hanging: Timeout, retryable, MaxAttempts attempts.
	s2 := serve(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c2 := fastClient(t, s2.URL, Options{MaxAttempts: 2})
	res, err = c2.CancelHandshake(withAPITimeout(context.Background(), 50*time.Millisecond), testID)
	if ErrorCode(err) != "Timeout" || !IsRetryable(err) || res.Attempts != 2 {
		t.Fatalf("err %v (code %q) after %d attempts", err, ErrorCode(err), res.Attempts)
	}
}

func TestClientNetworkErrorsAreRetried(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	url := s.URL
	s.Close() // nothing listens there any more
	c := fastClient(t, url, Options{MaxAttempts: 3})
	res, err := c.CancelHandshake(context.Background(), testID)
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
	_, err := c.CancelHandshake(context.Background(), testID)
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
	_, err := c.CancelHandshake(context.Background(), testID)
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
	res, err := c.CancelHandshake(context.Background(), testID)
	if ErrorCode(err) != "TLSError" || IsRetryable(err) || res.Attempts != 1 {
		t.Fatalf("err %v (code %q) after %d attempts, want TLSError at once", err, ErrorCode(err), res.Attempts)
	}
	// A client that trusts it works.
	c = fastClient(t, s.URL, Options{HTTPClient: s.Client()})
	if _, err := c.CancelHandshake(context.Background(), testID); err != nil {
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
	if c.base != "https://resourcemanager.aliyuncs.com/?" || c.Rate() != pacing.DefaultQPS {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

func TestDefaultHTTPClientIsOneTunedTransport(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := c.hc.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport %T, want *http.Transport", c.hc.Transport)
	}
	switch {
	case tr.MaxIdleConnsPerHost != maxIdleConnsPerHost:
		t.Errorf("MaxIdleConnsPerHost %d, want %d", tr.MaxIdleConnsPerHost, maxIdleConnsPerHost)
	case tr.DisableKeepAlives:
		t.Error("keep-alive disabled")
	case tr.DialContext == nil || tr.TLSHandshakeTimeout != connectTimeout:
		t.Errorf("connect bounds: TLS handshake %v", tr.TLSHandshakeTimeout)
	case tr.MaxResponseHeaderBytes <= 0 || tr.MaxResponseHeaderBytes > 1<<20:
		t.Errorf("MaxResponseHeaderBytes %d", tr.MaxResponseHeaderBytes)
	case tr.TLSClientConfig == nil || tr.TLSClientConfig.InsecureSkipVerify || tr.TLSClientConfig.MinVersion < tls.VersionTLS12:
		t.Errorf("TLS settings %+v", tr.TLSClientConfig)
	case tr.Proxy == nil:
		t.Error("no proxy from the environment")
	case c.hc.CheckRedirect == nil:
		t.Error("redirects would be followed")
	}
}

func TestDefaultHTTPClientGoesThroughAProxyOnTheSameTransport(t *testing.T) {
	// The default takes its proxy from the environment...
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := reflect.ValueOf(c.hc.Transport.(*http.Transport).Proxy).Pointer(); got != reflect.ValueOf(http.ProxyFromEnvironment).Pointer() {
		t.Fatal("the default transport does not take its proxy from the environment")
	}
	// ...and a request through a proxy takes the same transport as a
	// direct one: it reaches the proxy, signed, for the endpoint.
	var via atomic.Int32
	proxy := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Host == "127.0.0.1:9" && r.Header.Get("Authorization") != "" {
			via.Add(1)
		}
		io.WriteString(w, okBody)
	})
	pu, _ := url.Parse(proxy.URL)
	hc := newHTTPClient(http.ProxyURL(pu))
	c = fastClient(t, "http://127.0.0.1:9", Options{HTTPClient: hc})
	if _, err := c.CancelHandshake(context.Background(), testID); err != nil || via.Load() != 1 {
		t.Fatalf("err %v, %d requests through the proxy; want 1", err, via.Load())
	}
}

func TestClientClosesTheConnectionOfAnAnswerOverTheLimit(t *testing.T) {
	var conns atomic.Int32
	var big atomic.Bool
	big.Store(true)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !big.Load() {
			io.WriteString(w, okBody)
			return
		}
		// A valid start, then more than the client reads.
		io.WriteString(w, `{"RequestId":"R","Handshake":{"Note":"`)
		chunk := strings.Repeat("x", 64<<10)
		for range maxResponseBytes/len(chunk) + 2 {
			if _, err := io.WriteString(w, chunk); err != nil {
				return // the client hung up
			}
		}
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	c := fastClient(t, s.URL, Options{MaxAttempts: 1})
	_, err := c.CancelHandshake(context.Background(), testID)
	if ErrorCode(err) != "InvalidResponse" || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err %v (code %q), want an answer too large", err, ErrorCode(err))
	}
	// The next call cannot reuse the connection: it was closed, not
	// drained.
	big.Store(false)
	if _, err := c.CancelHandshake(context.Background(), testID); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: the oversized answer's connection was reused", n)
	}
	// An answer within the limit leaves its connection for the next call.
	if _, err := c.CancelHandshake(context.Background(), testID); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: a complete answer's connection was not reused", n)
	}
}

// listServer answers ListHandshakesForResourceDirectory with pages of
// sizes[page-1] invitations (nothing past the last), each with the
// TotalCount field totalCount writes (`"TotalCount":N,` or nothing).
func listServer(t *testing.T, sizes []int, totalCount string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("PageNumber"))
		n := 0
		if page >= 1 && page <= len(sizes) {
			n = sizes[page-1]
		}
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(`{"HandshakeId":"h-%08d%08d","Status":"Pending"}`, page, i)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"RequestId":"R",%s"PageNumber":%d,"PageSize":%d,"Handshakes":{"Handshake":[%s]}}`, totalCount, page, pageSize, strings.Join(items, ","))
	})
	return s, &calls
}

func TestHandshakesIsNotCutShortByTotalCount(t *testing.T) {
	tests := []struct {
		name       string
		sizes      []int
		totalCount string
		want, reqs int
	}{
		{"no TotalCount, full pages then a short one", []int{100, 100, 7}, ``, 207, 3},
		{"TotalCount 0 with full pages", []int{100, 100, 7}, `"TotalCount":0,`, 207, 3},
		{"TotalCount too low", []int{100, 100, 7}, `"TotalCount":100,`, 207, 3},
		{"TotalCount too high ends at the short page", []int{100, 3}, `"TotalCount":900,`, 103, 2},
		{"an exact multiple ends at the empty page", []int{100, 100}, `"TotalCount":200,`, 200, 3},
		{"an empty directory", nil, `"TotalCount":0,`, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, calls := listServer(t, tt.sizes, tt.totalCount)
			c := fastClient(t, s.URL, Options{})
			seen := map[string]bool{}
			for h, err := range c.Handshakes(context.Background()) {
				if err != nil {
					t.Fatal(err)
				}
				seen[h.HandshakeID] = true
			}
			if len(seen) != tt.want || int(calls.Load()) != tt.reqs {
				t.Fatalf("%d distinct invitations in %d requests, want %d in %d", len(seen), calls.Load(), tt.want, tt.reqs)
			}
		})
	}
}

func TestHandshakesFailsLoudlyPastItsBoundOnPages(t *testing.T) {
	// A service that never stops answering full pages.
	sizes := make([]int, 10)
	for i := range sizes {
		sizes[i] = pageSize
	}
	s, calls := listServer(t, sizes, `"TotalCount":0,`)
	c := fastClient(t, s.URL, Options{})
	c.maxPages = 4
	n, errs := 0, 0
	var last error
	for _, err := range c.Handshakes(context.Background()) {
		if err != nil {
			errs++
			last = err
			continue
		}
		n++
	}
	if !errors.Is(last, ErrListingTooLong) || errs != 1 || n != 4*pageSize || calls.Load() != 4 {
		t.Fatalf("%d invitations, %d errors (last %v), %d requests; want %d, then one ErrListingTooLong", n, errs, last, calls.Load(), 4*pageSize)
	}
	if c, _ := New(Options{}); c.maxPages != 10000 {
		t.Fatalf("default bound %d pages, want 10,000", c.maxPages)
	}
}
