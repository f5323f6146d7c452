package config_test

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/handshake-janitor/handshake-janitor/pkg/config"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
)

// Run with: go test -run '^$' -fuzz '^FuzzLoad$' -fuzztime 30s ./pkg/config
// (or `make fuzz`). The seeds below and testdata/fuzz/FuzzLoad run under
// plain go test; a crasher the fuzzer finds is kept there.

// loaded are the variables Load reads, in the order FuzzLoad's arguments
// give their values.
var loaded = []string{
	config.EnvEndpoint, config.EnvStaleAfter, config.EnvDryRun, config.EnvMaxCancellations, config.EnvAPIQPS,
	config.EnvAPIConcurrency, config.EnvAPITimeout, config.EnvLogLevel, config.EnvCredentialsSecretID,
}

// canarySecret and canaryToken stand for real credentials in the
// environment: nothing Load returns may depend on them.
const (
	canarySecret = "CanarySecretValue-9f8e7d6c5b4a"
	canaryToken  = "CanarySecurityTokenValue-0a1b2c3d4e5f"
)

// withheldValue is how a SettingError shows a value it must not print.
var withheldValue = regexp.MustCompile(`^\(\d+ bytes, not shown: it may hold a secret\)$`)

func FuzzLoad(f *testing.F) {
	type seed struct{ endpoint, stale, dry, maxc, qps, conc, timeout, level, secretID, secret string }
	for _, s := range []seed{
		{},
		{"https://resourcemanager.aliyuncs.com", "168h", "false", "100", "10", "4", "5s", "info", "", ""},
		{"http://127.0.0.1:8088", "7d", "yes", "0", "0.5", "64", "60s", "DEBUG", "handshake-janitor/credentials", "s3cr3t"},
		{"resourcemanager.cn-hangzhou.aliyuncs.com:443", " 72h ", "1", "5", "1000", "1", "1500ms", "disabled",
			"arn:aws:secretsmanager:eu-central-1:123456789012:secret:janitor-AbCdEf", ""},
		// Bad values of every kind.
		{"http://example.com", "-1h", "maybe", "-1", "NaN", "0", "0s", "verbose", "not a secret id!", ""},
		{"https://user:hunter2hunter2@example.com", "0d", "tru", "1e3", "Inf", "65", "61s", "1", "{\"AccessKeyId\":\"LTAI\",\"AccessKeySecret\":\"x\"}", canarySecret},
		{"ftp://host", "9999999999999999999d", "\x00", "9223372036854775808", "1001", "+4", "1h", "", "", ""},
		{"https://host/path?q=1#f", "1.5d", "TRUE\n", "0x10", "-0", "4.0", "-5s", "info\r\nlevel=debug", strings.Repeat("a", 2049), ""},
		{"http://[::1]:0", "\xff", "yes", " 7 ", "1e-320", "04", "1ns", "Trace", "", ""},
		{"http://user@127.0.0.1", "", "", "", "", "", "", "", "", ""},
		{"https://exa%41mple.com", "", "", "", "", "", "", "", "", ""},
		{"http://localhost.", "", "", "", "", "", "", "", "", ""},
		{"HTTP://LOCALHOST:8080/", "", "", "", "", "", "", "", "", ""},
		{"https://[fe80::1%25en0]:443", "", "", "", "", "", "", "", "", ""},
		{"https://" + canarySecret + "@host", "", "", "", "", "", "", "", canarySecret + "!", canarySecret},
	} {
		f.Add(s.endpoint, s.stale, s.dry, s.maxc, s.qps, s.conc, s.timeout, s.level, s.secretID, s.secret)
	}
	f.Fuzz(func(t *testing.T, endpoint, stale, dry, maxc, qps, conc, timeout, level, secretID, secret string) {
		values := []string{endpoint, stale, dry, maxc, qps, conc, timeout, level, secretID}
		env := make(map[string]string)
		for i, name := range loaded {
			env[name] = values[i]
		}
		var read []string
		getenv := func(name string) string { read = append(read, name); return env[name] }
		cfg, err := config.Load(getenv)

		// Load reads only the variables it owns, never a credential.
		for _, name := range read {
			i := slices.IndexFunc(config.Variables, func(v config.Variable) bool { return v.Name == name })
			if i < 0 {
				t.Fatalf("Load read %s, which config.Variables does not list", name)
			}
			if v := config.Variables[i]; v.Secret || v.Chain {
				t.Fatalf("Load read %s, a credential it must leave to the credentials chain", name)
			}
		}

		// Nothing Load returns depends on the credentials in the
		// environment: with them set (to the fuzzed secret and canaries),
		// the answer is the same, so no secret can be echoed.
		for _, s := range []string{secret, canarySecret} {
			env[config.EnvAccessKeySecret], env[config.EnvSecurityToken] = s, canaryToken
			env[config.EnvAccessKeyID] = "LTAI" + s
			cfg2, err2 := config.Load(getenv)
			if cfg2 != cfg || fmt.Sprint(err2) != fmt.Sprint(err) {
				t.Fatalf("Load changed with credentials set: %v, %v / %v, %v", cfg, err, cfg2, err2)
			}
		}
		if err == nil {
			checkAccepted(t, env, cfg)
		} else {
			if cfg != (config.Config{}) {
				t.Fatalf("Load failed (%v) but returned %+v, want the zero Config", err, cfg)
			}
			checkErrorLines(t, env, err)
		}
		// And directly: unless the fuzzer copied a canary into a variable
		// Load does read (whose value it may show), none is in the output.
		for _, c := range []string{canarySecret, canaryToken} {
			if slices.ContainsFunc(values, func(v string) bool { return strings.Contains(v, c) }) {
				continue
			}
			for _, out := range []string{fmt.Sprint(err), cfg.String(), fmt.Sprint(cfg.Fields()...)} {
				if strings.Contains(out, c) {
					t.Fatalf("a credential reached Load's output: %q", out)
				}
			}
		}
	})
}

// checkAccepted asserts that an accepted Config is in range and that the
// client accepts its endpoint: what config lets through, start-up does not
// refuse later with a message naming no variable.
func checkAccepted(t *testing.T, env map[string]string, cfg config.Config) {
	t.Helper()
	switch {
	case !(cfg.StaleAfter > 0):
		t.Fatalf("STALE_AFTER=%q accepted as %v, want > 0", env[config.EnvStaleAfter], cfg.StaleAfter)
	case cfg.MaxCancellations < 0:
		t.Fatalf("MAX_CANCELLATIONS=%q accepted as %d", env[config.EnvMaxCancellations], cfg.MaxCancellations)
	case !(cfg.APIQPS > 0 && cfg.APIQPS <= config.MaxAPIQPS):
		t.Fatalf("API_QPS=%q accepted as %v", env[config.EnvAPIQPS], cfg.APIQPS)
	case cfg.APIConcurrency < 1 || cfg.APIConcurrency > config.MaxAPIConcurrency:
		t.Fatalf("API_CONCURRENCY=%q accepted as %d", env[config.EnvAPIConcurrency], cfg.APIConcurrency)
	case !(cfg.APITimeout > 0 && cfg.APITimeout <= config.MaxAPITimeout):
		t.Fatalf("API_TIMEOUT=%q accepted as %v", env[config.EnvAPITimeout], cfg.APITimeout)
	}
	u, err := resourcemanager.ParseEndpoint(cfg.Endpoint)
	if err != nil {
		t.Fatalf("RESOURCEMANAGER_ENDPOINT=%q accepted by config.Load, refused by the client: %v", env[config.EnvEndpoint], err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		t.Fatalf("endpoint %q has scheme %q", cfg.Endpoint, u.Scheme)
	}
	if u.Scheme == "http" && !loopback(u) {
		t.Fatalf("RESOURCEMANAGER_ENDPOINT=%q accepted: plain http to %q, which is not a loopback host", env[config.EnvEndpoint], u.Hostname())
	}
	if u.User != nil {
		t.Fatalf("endpoint %q accepted with user info", cfg.Endpoint)
	}
}

// loopback restates the rule: 127.0.0.0/8, ::1 (also IPv4-mapped) or
// localhost.
func loopback(u *url.URL) bool {
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	if ip4 := ip.To4(); ip4 != nil {
		return ip4[0] == 127
	}
	return ip.Equal(net.IPv6loopback)
}

// checkErrorLines asserts the error contract: one line per bad setting, each
// a *SettingError naming a variable that was set, in Variables order, with
// the value bounded and printable, and a value that may hold a secret
// withheld.
func checkErrorLines(t *testing.T, env map[string]string, err error) {
	t.Helper()
	var joined interface{ Unwrap() []error }
	errs := []error{err}
	if errors.As(err, &joined) {
		errs = joined.Unwrap()
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(errs) {
		t.Fatalf("error has %d lines for %d bad settings: %q", len(lines), len(errs), err)
	}
	last := -1
	for i, e := range errs {
		var se *config.SettingError
		if !errors.As(e, &se) {
			t.Fatalf("error %q is not a *config.SettingError", e)
		}
		if !strings.HasPrefix(lines[i], se.Name+"=") {
			t.Fatalf("error line %q does not start with the variable's name %s", lines[i], se.Name)
		}
		pos := slices.Index(loaded, se.Name)
		if pos < 0 {
			t.Fatalf("error line %q names %s, which Load does not read", lines[i], se.Name)
		}
		if pos <= last {
			t.Fatalf("error lines out of Variables order or repeated: %q", err)
		}
		last = pos
		raw := env[se.Name]
		if strings.TrimSpace(raw) == "" {
			t.Fatalf("error line %q names %s, which was not set", lines[i], se.Name)
		}
		if se.Want == "" || !strings.Contains(se.Want, "want") {
			t.Fatalf("error line %q does not say what is accepted", lines[i])
		}
		if len(lines[i]) > 1024 || !utf8.ValidString(lines[i]) {
			t.Fatalf("error line for %s is %d bytes or not UTF-8: %.200q", se.Name, len(lines[i]), lines[i])
		}
		for _, r := range lines[i] {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("error line %q holds the control character %U", lines[i], r)
			}
		}
		switch se.Name {
		case config.EnvCredentialsSecretID:
			// Someone may have pasted the secret itself: never shown.
			if !withheldValue.MatchString(se.Value) {
				t.Fatalf("%s=%q refused with its value shown as %s, want it withheld", se.Name, raw, se.Value)
			}
		case config.EnvEndpoint:
			// User info (it may hold a password) is never shown. What the
			// message may show instead is scheme://***@host.
			if u, perr := url.Parse(strings.TrimSpace(raw)); perr == nil && u.User != nil {
				shown := u.Scheme + "://***@" + u.Host + u.EscapedPath()
				p, _ := u.User.Password()
				for _, part := range []string{p, u.User.Username()} {
					if len(part) >= 4 && !strings.Contains(shown, part) && !strings.Contains(se.Want, part) && strings.Contains(lines[i], part) {
						t.Fatalf("%s=%q refused with its user info shown: %q", se.Name, raw, lines[i])
					}
				}
			}
		}
	}
}
