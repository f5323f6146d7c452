package config

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/handshake-janitor/handshake-janitor/pkg/handshake"
)

const wantEndpoint = "want a host like resourcemanager.aliyuncs.com or an https:// URL with no path, query or user info (http:// only for a loopback host: 127.0.0.0/8, ::1 or localhost)"

// checkEndpoint applies the client's rule to RESOURCEMANAGER_ENDPOINT: a host
// (with an optional port), or an https:// URL naming only a host and port;
// http:// only for a loopback host, so that signed requests and the
// credentials they prove never cross a network in clear text.
func checkEndpoint(s string) *SettingError {
	problem, shown := endpointProblem(s)
	if problem == "" {
		return nil
	}
	return &SettingError{Name: EnvEndpoint, Value: shown, Want: problem + "; " + wantEndpoint}
}

// endpointProblem returns what is wrong with s ("" when nothing is) and how
// an error may show s: quoted and bounded, with any user info removed, as it
// may be a password.
func endpointProblem(s string) (problem, shown string) {
	raw := s
	if !strings.Contains(s, "://") {
		s = "https://" + s // a bare host
	}
	// An '@' may introduce user info (a password) wherever it stands, even
	// where url.Parse does not see user info (in a path, after a bad
	// scheme), so such a value is never shown.
	shown = quote(raw)
	if strings.Contains(raw, "@") {
		shown = withheld(raw)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "not a host or URL", shown
	}
	if u.User != nil {
		return "user info is not accepted", quote(u.Scheme + "://***@" + u.Host + u.EscapedPath())
	}
	host := u.Hostname()
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "scheme " + quote(u.Scheme) + " is not accepted", shown
	case u.Opaque != "" || host == "":
		return "no host", shown
	case u.Path != "" && u.Path != "/":
		return "a path is not accepted", shown
	case u.RawQuery != "" || u.ForceQuery:
		return "a query is not accepted", shown
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "a fragment is not accepted", shown
	case !validPort(u):
		return "bad port", shown
	}
	ip := net.ParseIP(host)
	if ip == nil && !validHostname(host) {
		return "bad host name", shown
	}
	if u.Scheme == "http" && !(strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()) {
		return "http:// is only for a loopback host", shown
	}
	return "", shown
}

func quote(s string) string { return handshake.Quote(s, maxQuoted) }

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
