package resourcemanager

import (
	"errors"
	"strings"
	"testing"
)

// TestParseEndpoint is the endpoint rule, the client's and
// RESOURCEMANAGER_ENDPOINT's. The cases marked "was accepted by the client"
// or "was refused by config" are where the two copies of the rule that came
// before it differed.
func TestParseEndpoint(t *testing.T) {
	ok := []struct{ in, want string }{
		{"", "https://resourcemanager.aliyuncs.com"},
		{"  ", "https://resourcemanager.aliyuncs.com"},
		{" resourcemanager.aliyuncs.com\t", "https://resourcemanager.aliyuncs.com"}, // was refused by config, which trimmed first
		{"resourcemanager.aliyuncs.com", "https://resourcemanager.aliyuncs.com"},
		{"resourcemanager.aliyuncs.com:443", "https://resourcemanager.aliyuncs.com:443"},
		{"https://resourcemanager.aliyuncs.com", "https://resourcemanager.aliyuncs.com"},
		{"https://resourcemanager.aliyuncs.com/", "https://resourcemanager.aliyuncs.com"},
		{"HTTPS://ResourceManager.Aliyuncs.com:443", "https://resourcemanager.aliyuncs.com:443"},
		{"resourcemanager-vpc.cn-hangzhou.aliyuncs.com", "https://resourcemanager-vpc.cn-hangzhou.aliyuncs.com"},
		{"https://example.com:8443", "https://example.com:8443"},
		{"https://10.0.0.1", "https://10.0.0.1"},
		{"127.0.0.1:8088", "https://127.0.0.1:8088"},
		{"http://127.0.0.1:8088", "http://127.0.0.1:8088"},
		{"http://127.1.2.3:80", "http://127.1.2.3:80"},
		{"http://localhost:8088", "http://localhost:8088"},
		{"http://LOCALHOST", "http://localhost"},
		{"http://[::1]:8088", "http://[::1]:8088"},
		{"https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443"},
	}
	for _, tt := range ok {
		u, err := ParseEndpoint(tt.in)
		if err != nil {
			t.Errorf("ParseEndpoint(%q): %v", tt.in, err)
			continue
		}
		if u.String() != tt.want {
			t.Errorf("ParseEndpoint(%q) = %q, want %q", tt.in, u, tt.want)
		}
	}
	bad := []struct{ in, problem string }{
		{"http://resourcemanager.aliyuncs.com", "http:// is only for a loopback host"},
		{"http://example.com", "http:// is only for a loopback host"},
		{"http://10.0.0.1:8088", "http:// is only for a loopback host"},
		{"http://localhost.example.com", "http:// is only for a loopback host"},
		{"http://128.0.0.1", "http:// is only for a loopback host"},
		{"ftp://resourcemanager.aliyuncs.com", `scheme "ftp" is not accepted`},
		{"file:///etc/passwd", `scheme "file" is not accepted`},
		{"https://resourcemanager.aliyuncs.com/path", "a path is not accepted"},
		{"resourcemanager.aliyuncs.com/v1", "a path is not accepted"},
		{"https://resourcemanager.aliyuncs.com/?a=b", "a query is not accepted"},
		{"https://resourcemanager.aliyuncs.com?x=1", "a query is not accepted"},
		{"https://resourcemanager.aliyuncs.com?", "a query is not accepted"},
		{"https://resourcemanager.aliyuncs.com#frag", "a fragment is not accepted"},
		{"https://resourcemanager.aliyuncs.com#", "a fragment is not accepted"}, // was accepted by the client
		{"https://user:hunter2@resourcemanager.aliyuncs.com", "user info is not accepted"},
		{"user:hunter2@resourcemanager.aliyuncs.com", "user info is not accepted"},
		{"https://host/a@hunter2", "user info is not accepted"},
		{"https://", "no host"},
		{"https://:443", "no host"},
		{"https://host:0", "bad port"},
		{"https://host:99999", "bad port"},
		{"https://host:", "bad port"},
		{"https://host:abc", "not a host or URL"},
		{"https://bad_host.com", "bad host name"},    // was accepted by the client
		{"https://-bad.com", "bad host name"},        // was accepted by the client
		{"https://a..b", "bad host name"},            // was accepted by the client
		{"https://example.com.", "bad host name"},    // was accepted by the client
		{"https://[fe80::1%25en0]", "bad host name"}, // was accepted by the client
		{"resource manager", "not a host or URL"},
		{"https://ex%41mple.com", "not a host or URL"},
		{"http://%zz", "not a host or URL"},
	}
	for _, tt := range bad {
		u, err := ParseEndpoint(tt.in)
		if err == nil {
			t.Errorf("ParseEndpoint(%q) = %v, want an error", tt.in, u)
			continue
		}
		var ee *EndpointError
		if !errors.Is(err, ErrEndpoint) || !errors.As(err, &ee) {
			t.Errorf("ParseEndpoint(%q) error %v is not an *EndpointError matching ErrEndpoint", tt.in, err)
			continue
		}
		if ee.Problem != tt.problem || !strings.HasSuffix(err.Error(), ": "+tt.problem+"; "+wantEndpoint) {
			t.Errorf("ParseEndpoint(%q) error %q\nwant it to say %q and what is accepted", tt.in, err, tt.problem)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseEndpoint(%q) error echoes a password: %q", tt.in, err)
		}
	}
}
