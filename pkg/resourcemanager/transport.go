package resourcemanager

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
)

// ErrUnverifiedTransport is wrapped by the error of New for an HTTPClient
// that might send a signed request over a connection whose certificate was
// not verified.
var ErrUnverifiedTransport = errors.New("TLS certificate verification cannot be guaranteed")

// verifyingClient checks hc as New's doc comment says and returns the copy
// the Client uses: hc's fields, a clone of its *http.Transport, and
// redirects refused.
func verifyingClient(hc *http.Client) (*http.Client, error) {
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("%w: its Transport is a %T, want an *http.Transport (signed requests carry credentials)", ErrUnverifiedTransport, rt)
	}
	switch tc := t.TLSClientConfig; {
	case tc != nil && tc.InsecureSkipVerify:
		return nil, fmt.Errorf("%w: its transport skips certificate verification (InsecureSkipVerify)", ErrUnverifiedTransport)
	case tc != nil && tc.MinVersion != 0 && tc.MinVersion < tls.VersionTLS12:
		return nil, fmt.Errorf("%w: its transport accepts TLS below 1.2 (MinVersion %s)", ErrUnverifiedTransport, tls.VersionName(tc.MinVersion))
	case dialsTLS(t):
		return nil, fmt.Errorf("%w: its transport dials TLS itself (DialTLS or DialTLSContext)", ErrUnverifiedTransport)
	}
	c := *hc
	c.Transport = t.Clone()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c, nil
}

// dialsTLS reports whether t makes its TLS connections with a dialer of its
// own, which no TLS setting of t governs.
func dialsTLS(t *http.Transport) bool {
	//lint:ignore SA1019 DialTLS is deprecated, and still used when set
	return t.DialTLSContext != nil || t.DialTLS != nil
}
