package resourcemanager

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEndpoint(t *testing.T) {
	ok := []struct{ in, want string }{
		{"", "https://resourcemanager.aliyuncs.com"},
		{"  ", "https://resourcemanager.aliyuncs.com"},
		{"resourcemanager.aliyuncs.com", "https://resourcemanager.aliyuncs.com"},
		{"https://resourcemanager.aliyuncs.com", "https://resourcemanager.aliyuncs.com"},
		{"https://resourcemanager.aliyuncs.com/", "https://resourcemanager.aliyuncs.com"},
		{"HTTPS://ResourceManager.Aliyuncs.com:443", "https://resourcemanager.aliyuncs.com:443"},
		{"resourcemanager-vpc.cn-hangzhou.aliyuncs.com", "https://resourcemanager-vpc.cn-hangzhou.aliyuncs.com"},
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
	bad := []struct{ in, says string }{
		{"http://resourcemanager.aliyuncs.com", "loopback"},
		{"http://10.0.0.1:8088", "loopback"},
		{"http://localhost.example.com", "loopback"},
		{"http://128.0.0.1", "loopback"},
		{"ftp://resourcemanager.aliyuncs.com", "scheme"},
		{"https://resourcemanager.aliyuncs.com/path", "no path"},
		{"https://resourcemanager.aliyuncs.com/?a=b", "no path, query"},
		{"https://resourcemanager.aliyuncs.com#frag", "fragment"},
		{"https://user:hunter2@resourcemanager.aliyuncs.com", "user information"},
		{"https://:443", "no host"},
		{"https://host:99999", "port"},
		{"https://host:", "empty port"},
		{"https://host:abc", "want"},
		{"http://%zz", "want"},
	}
	for _, tt := range bad {
		u, err := ParseEndpoint(tt.in)
		if err == nil {
			t.Errorf("ParseEndpoint(%q) = %v, want an error", tt.in, u)
			continue
		}
		if !errors.Is(err, ErrEndpoint) {
			t.Errorf("ParseEndpoint(%q) error %v does not wrap ErrEndpoint", tt.in, err)
		}
		if !strings.Contains(err.Error(), tt.says) {
			t.Errorf("ParseEndpoint(%q) error %q does not say %q", tt.in, err, tt.says)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseEndpoint(%q) error echoes a password: %q", tt.in, err)
		}
	}
}
