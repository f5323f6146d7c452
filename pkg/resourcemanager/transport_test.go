package resourcemanager

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// skipping is a RoundTripper that wraps a transport which skips
// verification: what the Client cannot see into.
type skipping struct{ next http.RoundTripper }

func (s skipping) RoundTrip(r *http.Request) (*http.Response, error) { return s.next.RoundTrip(r) }

func TestNewRefusesAnHTTPClientThatMightNotVerifyCertificates(t *testing.T) {
	skipVerify := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	refused := []struct {
		name string
		hc   *http.Client
		says string
	}{
		{"a custom RoundTripper", &http.Client{Transport: skipping{skipVerify}}, "resourcemanager.skipping"},
		{"InsecureSkipVerify", &http.Client{Transport: skipVerify}, "InsecureSkipVerify"},
		{"TLS 1.0 allowed", &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS10}}}, "TLS 1.0"},
		{"its own TLS dialer", &http.Client{Transport: &http.Transport{DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return tls.Dial(network, addr, &tls.Config{InsecureSkipVerify: true})
		}}}, "DialTLS"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{HTTPClient: tt.hc})
			if !errors.Is(err, ErrUnverifiedTransport) || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "HTTPClient") {
				t.Fatalf("New: %v, want ErrUnverifiedTransport naming HTTPClient and %q", err, tt.says)
			}
		})
	}
	accepted := []struct {
		name string
		hc   *http.Client
	}{
		{"the zero http.Client (http.DefaultTransport)", &http.Client{}},
		{"an *http.Transport with default TLS", &http.Client{Transport: &http.Transport{}}},
		{"TLS 1.3 only", &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13}}}},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(Options{HTTPClient: tt.hc}); err != nil {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

func TestTheClientKeepsItsGuaranteesWhateverTheCallerChangesLater(t *testing.T) {
	var hits atomic.Int32
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/elsewhere" {
			io.WriteString(w, okBody)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(s.Close)

	// A client that verifies (and does not trust the test server), and
	// would follow redirects.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}
	c := fastClient(t, s.URL, Options{HTTPClient: hc})
	// Turned off after New: the Client's copy still verifies.
	hc.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true
	if _, err := c.CancelHandshake(context.Background(), testID); ErrorCode(err) != "TLSError" || hits.Load() != 0 {
		t.Fatalf("%v (code %s), %d requests served; want TLSError and none", err, ErrorCode(err), hits.Load())
	}

	// A client that trusts the server: the redirect is reported, not
	// followed, although the caller's client would follow it.
	c = fastClient(t, s.URL, Options{HTTPClient: s.Client()})
	_, err := c.CancelHandshake(context.Background(), testID)
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusTemporaryRedirect || hits.Load() != 1 {
		t.Fatalf("%v, %d requests served; want the 307 reported after one request", err, hits.Load())
	}
}
