package resourcemanager

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

// DefaultEndpoint is the Resource Manager API's global endpoint.
const DefaultEndpoint = "https://resourcemanager.aliyuncs.com"

// ErrEndpoint is matched (errors.Is) by every error ParseEndpoint returns.
var ErrEndpoint = errors.New("invalid Resource Manager endpoint")

// wantEndpoint is what ParseEndpoint accepts, as its errors say it.
const wantEndpoint = "want a host like resourcemanager.aliyuncs.com or an https:// URL with no path, query or user info (http:// only for a loopback host: 127.0.0.0/8, ::1 or localhost)"

// maxShown bounds how much of a refused endpoint an error shows.
const maxShown = 64

// An EndpointError is an endpoint ParseEndpoint refused.
type EndpointError struct {
	// Value is the endpoint as the error shows it: quoted and cut, or
	// withheld when it holds an "@" (user info, which may be a password).
	Value string
	// Problem says what is wrong, like "a path is not accepted".
	Problem string
}

func (e *EndpointError) Error() string {
	return ErrEndpoint.Error() + " " + e.Value + ": " + e.Want()
}

// Want is what is wrong and what is accepted.
func (e *EndpointError) Want() string { return e.Problem + "; " + wantEndpoint }

// Is makes every EndpointError match ErrEndpoint.
func (e *EndpointError) Is(target error) bool { return target == ErrEndpoint }

// ParseEndpoint reads an endpoint by the client's rule, the one rule for
// RESOURCEMANAGER_ENDPOINT too. Surrounding white space is ignored; empty
// is DefaultEndpoint. Accepted: a host with an optional port
// ("resourcemanager.aliyuncs.com", "127.0.0.1:8088"), which is https, or
// an https:// URL of a host and an optional port, with an optional "/".
// The host is an IP address or a DNS name (dot-separated labels of
// letters, digits and hyphens, none empty, none starting or ending with a
// hyphen); the port 1 to 65535. http:// is accepted only for a loopback
// host (127.0.0.0/8, ::1, localhost), so that signed requests and the
// credentials they prove never cross a network in clear text. Refused:
// any other scheme, user info (any "@"), a path, a query, a fragment (any
// "#"). The result has only Scheme and Host set, both lower-case; an error
// is an *EndpointError.
func ParseEndpoint(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = DefaultEndpoint
	}
	u, problem := parseEndpoint(s)
	if problem != "" {
		shown := handshake.Quote(s, maxShown)
		if strings.Contains(s, "@") {
			shown = fmt.Sprintf("(%d bytes, not shown: it may hold a secret)", len(s))
		}
		return nil, &EndpointError{Value: shown, Problem: problem}
	}
	return &url.URL{Scheme: u.Scheme, Host: strings.ToLower(u.Host)}, nil
}

// parseEndpoint applies ParseEndpoint's rule to s, trimmed and not empty;
// problem is "" when s is accepted.
func parseEndpoint(s string) (u *url.URL, problem string) {
	if strings.Contains(s, "@") {
		// An '@' may introduce user info wherever it stands, even where
		// url.Parse does not see user info (in a path, after a bad scheme).
		return nil, "user info is not accepted"
	}
	raw := s
	if !strings.Contains(s, "://") {
		raw = "https://" + s // a bare host
	}
	u, err := url.Parse(raw) // the scheme comes lower-case
	if err != nil {
		return nil, "not a host or URL"
	}
	host := u.Hostname()
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, "scheme " + handshake.Quote(u.Scheme, maxShown) + " is not accepted"
	case u.Opaque != "" || host == "":
		return nil, "no host"
	case u.Path != "" && u.Path != "/":
		return nil, "a path is not accepted"
	case u.RawQuery != "" || u.ForceQuery:
		return nil, "a query is not accepted"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return nil, "a fragment is not accepted"
	case !validPort(u):
		return nil, "bad port"
	}
	ip := net.ParseIP(host)
	if ip == nil && !validHostname(host) {
		return nil, "bad host name"
	}
	if u.Scheme == "http" && !(strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()) {
		return nil, "http:// is only for a loopback host"
	}
	return u, ""
}

// validPort accepts no port or 1..65535; url.Parse has already checked that
// a port is digits, but not its range, nor a trailing colon with none.
func validPort(u *url.URL) bool {
	p := u.Port()
	if p == "" {
		return !strings.HasSuffix(u.Host, ":")
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// validHostname accepts DNS names: dot-separated labels of letters, digits
// and hyphens, none empty, none starting or ending with a hyphen.
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
