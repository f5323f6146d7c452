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

// ErrEndpoint is wrapped by every error ParseEndpoint returns.
var ErrEndpoint = errors.New("invalid Resource Manager endpoint")

// ParseEndpoint reads an endpoint given as a host ("resourcemanager.aliyuncs.com",
// "127.0.0.1:8088") or a URL ("https://host[:port]"). An empty s is
// DefaultEndpoint. Plain http is accepted only for loopback hosts
// (127.0.0.0/8, ::1, localhost), because signed requests carry tokens. A
// path other than "/", a query, a fragment or user information is refused.
// The result has only Scheme and Host set.
func ParseEndpoint(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		s = DefaultEndpoint
	}
	// Never echo user information (it may hold a password).
	shown := handshake.Quote(s, 80)
	if strings.Contains(s, "@") {
		return nil, fmt.Errorf("%w: user information (\"user@\") is not accepted; want a host or https://host[:port]", ErrEndpoint)
	}
	raw := s
	if !strings.Contains(s, "://") {
		raw = "https://" + s
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w %s: want a host or https://host[:port]", ErrEndpoint, shown)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return nil, fmt.Errorf("%w %s: scheme %q is not accepted; want https (or http for a loopback host)", ErrEndpoint, shown, u.Scheme)
	}
	if u.Opaque != "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Errorf("%w %s: want only a scheme, a host and an optional port, with no path, query or fragment", ErrEndpoint, shown)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("%w %s: no host; want a host or https://host[:port]", ErrEndpoint, shown)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w %s: port must be 1 to 65535", ErrEndpoint, shown)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, fmt.Errorf("%w %s: empty port", ErrEndpoint, shown)
	}
	if scheme == "http" && !isLoopback(host) {
		return nil, fmt.Errorf("%w %s: plain http is accepted only for loopback hosts (127.0.0.0/8, ::1, localhost); use https", ErrEndpoint, shown)
	}
	return &url.URL{Scheme: scheme, Host: strings.ToLower(u.Host)}, nil
}

// isLoopback reports whether host (no port, no brackets) is a loopback
// address or the name localhost.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
