package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/handshake-janitor/handshake-janitor/pkg/logging"
	"github.com/handshake-janitor/handshake-janitor/pkg/resourcemanager"
	"github.com/rs/zerolog"
)

// env returns a getenv reading m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadOfEmptyEnvironmentGivesDocumentedDefaults(t *testing.T) {
	got, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Endpoint:         "https://resourcemanager.aliyuncs.com",
		StaleAfter:       168 * time.Hour,
		DryRun:           false,
		MaxCancellations: 100,
		APIQPS:           10,
		APIConcurrency:   4,
		APITimeout:       5 * time.Second,
		LogLevel:         zerolog.InfoLevel,
		MetricsNamespace: "HandshakeJanitor",
		Directory:        "resource-directory",

		CredentialsSecretTTL: 5 * time.Minute,
	}
	if got != want || Default() != want {
		t.Fatalf("Load(empty) = %+v\nDefault() = %+v\nwant %+v", got, Default(), want)
	}
}

func TestVariablesDefaultsAreTheDefaultsLoadApplies(t *testing.T) {
	m := map[string]string{}
	for _, v := range Variables {
		if !v.Chain {
			m[v.Name] = v.Default
		}
	}
	got, err := Load(env(m))
	if err != nil {
		t.Fatalf("a documented default is refused: %v", err)
	}
	if got != Default() {
		t.Fatalf("documented defaults give %+v, Load applies %+v", got, Default())
	}
}

func TestVariablesListsExactlyWhatLoadReads(t *testing.T) {
	read := map[string]bool{}
	if _, err := Load(func(k string) string { read[k] = true; return "" }); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, v := range Variables {
		if listed[v.Name] {
			t.Errorf("%s is listed twice", v.Name)
		}
		listed[v.Name] = true
		if v.Description == "" || len(v.Platforms) == 0 {
			t.Errorf("%s lacks a description or platforms", v.Name)
		}
		if v.Chain == read[v.Name] { // Load reads exactly the non-chain ones
			t.Errorf("%s: Chain=%v but Load reads it=%v", v.Name, v.Chain, read[v.Name])
		}
		if v.Secret && v.Default != "" {
			t.Errorf("secret %s has a default", v.Name)
		}
		if v.Optional {
			if v.Default != "" || v.Secret || v.Chain {
				t.Errorf("optional %s has a default, or is a secret", v.Name)
			}
			if _, err := Load(env(map[string]string{v.Name: ""})); err != nil {
				t.Errorf("optional %s set empty does not load: %v", v.Name, err)
			}
		}
	}
	for k := range read {
		if !listed[k] {
			t.Errorf("Load reads %s, which Variables does not list", k)
		}
	}
	for _, name := range []string{EnvAccessKeyID, EnvAccessKeySecret, EnvSecurityToken} {
		i := slices.IndexFunc(Variables, func(v Variable) bool { return v.Name == name })
		if i < 0 || !Variables[i].Secret || !Variables[i].Chain {
			t.Errorf("%s must be listed as a secret read by the credential chain", name)
		}
	}
	secretID := Variables[slices.IndexFunc(Variables, func(v Variable) bool { return v.Name == EnvCredentialsSecretID })]
	if !secretID.On(logging.PlatformAWS) || secretID.On(logging.PlatformFC) || secretID.Secret {
		t.Errorf("%s: want AWS only and not a secret, got %+v", EnvCredentialsSecretID, secretID)
	}
}

func TestLoadAcceptsEveryVariable(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        func(*Config)
	}{
		{EnvEndpoint, "resourcemanager.aliyuncs.com", func(c *Config) { c.Endpoint = "resourcemanager.aliyuncs.com" }},
		{EnvEndpoint, "http://127.0.0.1:8088", func(c *Config) { c.Endpoint = "http://127.0.0.1:8088" }},
		{EnvStaleAfter, "72h", func(c *Config) { c.StaleAfter = 72 * time.Hour }},
		{EnvStaleAfter, "7d", func(c *Config) { c.StaleAfter = 7 * 24 * time.Hour }},
		{EnvStaleAfter, "30d", func(c *Config) { c.StaleAfter = 30 * 24 * time.Hour }},
		{EnvStaleAfter, "90m", func(c *Config) { c.StaleAfter = 90 * time.Minute }},
		{EnvDryRun, "true", func(c *Config) { c.DryRun = true }},
		{EnvDryRun, "TRUE", func(c *Config) { c.DryRun = true }},
		{EnvDryRun, "1", func(c *Config) { c.DryRun = true }},
		{EnvDryRun, "Yes", func(c *Config) { c.DryRun = true }},
		{EnvDryRun, "false", func(c *Config) { c.DryRun = false }},
		{EnvDryRun, "0", func(c *Config) { c.DryRun = false }},
		{EnvDryRun, "NO", func(c *Config) { c.DryRun = false }},
		{EnvMaxCancellations, "0", func(c *Config) { c.MaxCancellations = 0 }},
		{EnvMaxCancellations, "5000", func(c *Config) { c.MaxCancellations = 5000 }},
		{EnvAPIQPS, "0.5", func(c *Config) { c.APIQPS = 0.5 }},
		{EnvAPIQPS, "1000", func(c *Config) { c.APIQPS = 1000 }},
		{EnvAPIConcurrency, "1", func(c *Config) { c.APIConcurrency = 1 }},
		{EnvAPIConcurrency, "64", func(c *Config) { c.APIConcurrency = 64 }},
		{EnvAPITimeout, "1500ms", func(c *Config) { c.APITimeout = 1500 * time.Millisecond }},
		{EnvAPITimeout, "60s", func(c *Config) { c.APITimeout = time.Minute }},
		{EnvLogLevel, "debug", func(c *Config) { c.LogLevel = zerolog.DebugLevel }},
		{EnvLogLevel, "WARN", func(c *Config) { c.LogLevel = zerolog.WarnLevel }},
		{EnvLogLevel, "disabled", func(c *Config) { c.LogLevel = zerolog.Disabled }},
		{EnvCredentialsSecretID, "prod/handshake-janitor/ram", func(c *Config) { c.CredentialsSecretID = "prod/handshake-janitor/ram" }},
		{EnvCredentialsSecretID, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:janitor-AbCdEf",
			func(c *Config) {
				c.CredentialsSecretID = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:janitor-AbCdEf"
			}},
		{EnvCredentialsSecretTTL, "1s", func(c *Config) { c.CredentialsSecretTTL = time.Second }},
		{EnvCredentialsSecretTTL, "1d", func(c *Config) { c.CredentialsSecretTTL = 24 * time.Hour }},
		{EnvAllowedTargets, "*@example.com", func(c *Config) { c.AllowedTargets = "*@example.com" }},
		{EnvAllowedTargets, " *@Example.com , 1234567890123456, ", func(c *Config) { c.AllowedTargets = "*@Example.com,1234567890123456" }},
		{EnvLogTargets, "true", func(c *Config) { c.LogTargets = true }},
		{EnvLogTargets, "no", func(c *Config) { c.LogTargets = false }},
		{EnvMetricsNamespace, "Team/Janitor #2", func(c *Config) { c.MetricsNamespace = "Team/Janitor #2" }},
		{EnvMetricsByTrigger, "true", func(c *Config) { c.MetricsByTrigger = true }},
		{EnvMetricsByTrigger, "0", func(c *Config) { c.MetricsByTrigger = false }},
		{EnvMetricsByTrigger, "true", func(c *Config) { c.MetricsByTrigger = true }},
		{EnvMetricsByTrigger, "0", func(c *Config) { c.MetricsByTrigger = false }},
		{EnvAPIQPS, "  20  ", func(c *Config) { c.APIQPS = 20 }}, // surrounding white space ignored
		{EnvStaleAfter, " \t", func(*Config) {}},                 // white space only: the default
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			got, err := Load(env(map[string]string{tc.name: tc.value}))
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			tc.want(&want)
			if got != want {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadRefusesBadValuesNamingVariableValueAndWhatIsAccepted(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
	}{
		{EnvStaleAfter, "7x", `STALE_AFTER="7x": want a Go duration like 72h or whole days like 7d, greater than zero and at most 36500d`},
		{EnvStaleAfter, "0", `STALE_AFTER="0": want a Go duration like 72h or whole days like 7d, greater than zero`},
		{EnvStaleAfter, "+7d", `STALE_AFTER="+7d": want a Go duration`},
		{EnvStaleAfter, "36501d", `STALE_AFTER="36501d": want a Go duration`},
		{EnvStaleAfter, "0d", `STALE_AFTER="0d": want`},
		{EnvStaleAfter, "-1h", `STALE_AFTER="-1h": want`},
		{EnvStaleAfter, "1.5d", `STALE_AFTER="1.5d": want`},
		{EnvStaleAfter, "7D", `STALE_AFTER="7D": want`},
		{EnvStaleAfter, "999999999999d", `STALE_AFTER="999999999999d": want`},
		{EnvDryRun, "maybe", `DRY_RUN="maybe": want true or false (also 1/0, yes/no)`},
		{EnvDryRun, "on", `DRY_RUN="on": want true or false`},
		{EnvMaxCancellations, "-1", `MAX_CANCELLATIONS="-1": want a whole number, 0 or more`},
		{EnvMaxCancellations, "ten", `MAX_CANCELLATIONS="ten": want a whole number`},
		{EnvMaxCancellations, "1e3", `MAX_CANCELLATIONS="1e3": want a whole number`},
		{EnvAllowedTargets, ",,,", `ALLOWED_TARGETS=",,,": holds separators but no pattern`},
		{EnvAllowedTargets, " , ,", `ALLOWED_TARGETS=", ,": holds separators but no pattern`},
		{EnvAPIQPS, "0", `API_QPS="0": want a number of calls per second greater than 0 and at most 1000`},
		{EnvAPIQPS, "-3", `API_QPS="-3": want`},
		{EnvAPIQPS, "1000.5", `API_QPS="1000.5": want`},
		{EnvAPIQPS, "NaN", `API_QPS="NaN": want`},
		{EnvAPIQPS, "Inf", `API_QPS="Inf": want`},
		{EnvAPIQPS, "fast", `API_QPS="fast": want`},
		{EnvAPIConcurrency, "0", `API_CONCURRENCY="0": want a whole number from 1 to 64`},
		{EnvAPIConcurrency, "65", `API_CONCURRENCY="65": want a whole number from 1 to 64`},
		{EnvAPIConcurrency, "4.5", `API_CONCURRENCY="4.5": want`},
		{EnvAPITimeout, "0s", `API_TIMEOUT="0s": want a duration greater than zero and at most 60s`},
		{EnvAPITimeout, "61s", `API_TIMEOUT="61s": want`},
		{EnvAPITimeout, "1d", `API_TIMEOUT="1d": want`},
		{EnvAPITimeout, "5", `API_TIMEOUT="5": want`},
		{EnvLogLevel, "verbose", `LOG_LEVEL="verbose": want one of trace, debug, info, warn, error, fatal, panic or disabled`},
		{EnvLogLevel, "1", `LOG_LEVEL="1": want one of`},
		{EnvCredentialsSecretTTL, "0s", `ALIBABA_CLOUD_CREDENTIALS_SECRET_TTL="0s": want a duration from 1s to 24h`},
		{EnvCredentialsSecretTTL, "500ms", `ALIBABA_CLOUD_CREDENTIALS_SECRET_TTL="500ms": want`},
		{EnvCredentialsSecretTTL, "2d", `ALIBABA_CLOUD_CREDENTIALS_SECRET_TTL="2d": want`},
		{EnvCredentialsSecretTTL, "-5m", `ALIBABA_CLOUD_CREDENTIALS_SECRET_TTL="-5m": want`},
		{EnvMetricsNamespace, "AWS/Lambda", `METRICS_NAMESPACE="AWS/Lambda": want a CloudWatch namespace`},
		{EnvMetricsNamespace, "a\tb", `METRICS_NAMESPACE="a\tb": want a CloudWatch namespace`},
		{EnvMetricsByTrigger, "per-trigger", `METRICS_BY_TRIGGER="per-trigger": want true or false`},
		{EnvEndpoint, "http://example.com", `RESOURCEMANAGER_ENDPOINT="http://example.com": http:// is only for a loopback host; want`},
		{EnvEndpoint, "ftp://resourcemanager.aliyuncs.com", `RESOURCEMANAGER_ENDPOINT="ftp://resourcemanager.aliyuncs.com": scheme "ftp" is not accepted; want`},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := Load(env(map[string]string{tc.name: tc.value}))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tc.want) {
				t.Errorf("error %q\nwant prefix %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("one bad setting gave several lines: %q", msg)
			}
			var se *SettingError
			if !errors.As(err, &se) || se.Name != tc.name {
				t.Errorf("errors.As SettingError = %+v, want Name %s", se, tc.name)
			}
		})
	}
}

func TestLoadReportsEveryBadSettingOneLineEach(t *testing.T) {
	_, err := Load(env(map[string]string{
		EnvLogLevel:       "loud",
		EnvStaleAfter:     "soon",
		EnvAPIConcurrency: "0",
		EnvDryRun:         "true", // good ones do not appear
		EnvEndpoint:       "http://example.com",
	}))
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{EnvEndpoint, EnvStaleAfter, EnvAPIConcurrency, EnvLogLevel} // Variables order
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), err)
	}
	for i, name := range want {
		if !strings.HasPrefix(lines[i], name+"=") {
			t.Errorf("line %d = %q, want it to name %s", i, lines[i], name)
		}
	}
}

func TestErrorLinesAreBoundedAndEscaped(t *testing.T) {
	long := "7" + strings.Repeat("x", 10000) + "\n\x1b[31m"
	for _, name := range []string{EnvStaleAfter, EnvEndpoint, EnvLogLevel, EnvCredentialsSecretID, EnvAllowedTargets, EnvLogTargets} {
		_, err := Load(env(map[string]string{name: long}))
		if err == nil {
			t.Fatalf("%s accepted a 10 kB value", name)
		}
		if msg := err.Error(); len(msg) > 400 || strings.ContainsAny(msg, "\n\x1b") {
			t.Errorf("%s: error not bounded or not escaped (%d bytes): %q", name, len(msg), msg)
		}
	}
}

func TestAllowedTargetsErrorNamesTheBadPattern(t *testing.T) {
	_, err := Load(env(map[string]string{EnvAllowedTargets: "*@example.com, 12345, also bad"}))
	var se *SettingError
	if !errors.As(err, &se) || se.Name != EnvAllowedTargets {
		t.Fatalf("Load = %v, want a *SettingError for %s", err, EnvAllowedTargets)
	}
	msg := err.Error()
	for _, part := range []string{EnvAllowedTargets + "=", `pattern "12345"`, "16-digit account ID", "*@example.com"} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q lacks %q", msg, part)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q is not one line", msg)
	}
}

func TestTargetPolicyIsTheParsedSetting(t *testing.T) {
	c, err := Load(env(map[string]string{EnvAllowedTargets: "*@example.com,1234567890123456"}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.TargetPolicy()
	if err != nil {
		t.Fatal(err)
	}
	if !p.Allowed("Email", "a@example.com") || p.Allowed("Email", "a@gmail.com") || !p.Allowed("Account", "1234567890123456") {
		t.Errorf("TargetPolicy() = %q does not decide as the setting says", p)
	}
	if p, err := Default().TargetPolicy(); err != nil || !p.Empty() {
		t.Errorf("Default().TargetPolicy() = %q, %v; want the empty policy", p, err)
	}
	if _, err := (Config{AllowedTargets: "nonsense"}).TargetPolicy(); err == nil {
		t.Error("a Config not made by Load with a bad policy gave no error")
	}
}

func TestCredentialsSecretIDErrorWithholdsTheValue(t *testing.T) {
	pasted := `{"AccessKeyId":"LTAI5tExample","AccessKeySecret":"hunter2hunter2"}`
	_, err := Load(env(map[string]string{EnvCredentialsSecretID: pasted}))
	if err == nil {
		t.Fatal("accepted a JSON document as a secret name")
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "LTAI") {
		t.Fatalf("error shows the value: %s", err)
	}
	if !strings.HasPrefix(err.Error(), EnvCredentialsSecretID+"=(") || !strings.Contains(err.Error(), "want the name or ARN") {
		t.Fatalf("error does not name the variable and what is accepted: %s", err)
	}
}

// RESOURCEMANAGER_ENDPOINT goes by the client's rule
// (resourcemanager.ParseEndpoint, whose tests hold the rule's table): what
// it refuses, Load refuses, naming the variable, the problem and what is
// accepted.
func TestEndpointGoesByTheClientsRule(t *testing.T) {
	for _, in := range []string{
		"resourcemanager.aliyuncs.com", "http://127.0.0.1:8088", "https://[::1]:8443",
		"http://example.com", "https://bad_host.com", "https://host#", "https://host/v1",
	} {
		t.Run(in, func(t *testing.T) {
			_, want := resourcemanager.ParseEndpoint(in)
			err := checkEndpoint(in)
			var ee *resourcemanager.EndpointError
			switch {
			case want == nil && err != nil:
				t.Fatalf("refused what the client accepts: %v", err)
			case want != nil && err == nil:
				t.Fatalf("accepted what the client refuses: %v", want)
			case want != nil && errors.As(want, &ee) && err.Error() != EnvEndpoint+"="+ee.Value+": "+ee.Want():
				t.Fatalf("error %q\nwant the variable, the value and the client's %q", err, ee.Want())
			}
		})
	}
}

func TestEndpointErrorsNeverShowUserInfo(t *testing.T) {
	for _, in := range []string{
		"https://AKID:pa55word@resourcemanager.aliyuncs.com",
		"http://AKID:pa55word@example.com/x",
		"AKID:pa55word@resourcemanager.aliyuncs.com",
		"https://AKID:pa55word%zz@host", // unparsable
	} {
		_, err := Load(env(map[string]string{EnvEndpoint: in}))
		if err == nil {
			t.Fatalf("%s accepted", in)
		}
		if strings.Contains(err.Error(), "pa55word") || strings.Contains(err.Error(), "AKID") {
			t.Errorf("error shows user info: %s", err)
		}
		if !strings.HasPrefix(err.Error(), EnvEndpoint+"=") {
			t.Errorf("error does not name the variable: %s", err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"72h", 72 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"1500ms", 1500 * time.Millisecond},
		{"1d", 24 * time.Hour},
		{"7d", 168 * time.Hour},
		{"30d", 720 * time.Hour},
		{"36500d", MaxDuration},
		{"876000h", MaxDuration},
	} {
		if got, err := ParseDuration(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "7", "d", "7x", "1.5d", "7D", "7 d", "d7", "1d12h", "7dd", "36501d", "876001h", "99999999999999999999d", "--1d",
		"0s", "0d", "-5m", "-1d", "+2d", "+72h", "a week"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, nil; want an error", in, got)
		} else if !strings.Contains(err.Error(), "want a Go duration like 72h or whole days like 7d, greater than zero and at most 36500d") {
			t.Errorf("ParseDuration(%q) error %q does not say what is accepted", in, err)
		}
	}
}

func TestFormatDurationRoundTrips(t *testing.T) {
	for d, want := range map[time.Duration]string{
		168 * time.Hour: "7d", 24 * time.Hour: "1d", 36 * time.Hour: "36h0m0s",
		5 * time.Second: "5s",
	} {
		got := FormatDuration(d)
		if got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(got); err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v", d, back, err)
		}
	}
}

func TestFieldsAndStringShowEverySetting(t *testing.T) {
	c := Default()
	c.DryRun = true
	c.CredentialsSecretID = "prod/janitor"
	c.AllowedTargets = "*@example.com,ceo@example.com"
	want := map[string]any{
		"directory": "resource-directory",
		"endpoint":  resourcemanager.DefaultEndpoint, "stale_after": "7d", "dry_run": true, "max_cancellations": 100.0,
		"api_qps": 10.0, "api_concurrency": 4.0, "api_timeout": "5s", "log_level": "info",
		"allowed_targets": "*@example.com,c***@example.com", "log_targets": false,
		"credentials_secret_id": "prod/janitor", "reread_after": "5m0s",
	}
	if n := len(c.Fields()) / 2; n != len(want) {
		t.Fatalf("Fields has %d settings, want %d", n, len(want))
	}

	var buf bytes.Buffer
	log := logging.New(&buf, zerolog.InfoLevel)
	log.Info().Fields(c.Fields()).Msg("configuration")
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("logged %s = %v (%T), want %v", k, got[k], got[k], v)
		}
	}

	s := c.String()
	for _, part := range []string{
		"endpoint=https://resourcemanager.aliyuncs.com", "stale_after=7d", "dry_run=true",
		"max_cancellations=100", "api_qps=10", "api_concurrency=4", "api_timeout=5s",
		"log_level=info", "allowed_targets=*@example.com,c***@example.com", "log_targets=false",
		"credentials_secret_id=prod/janitor",
	} {
		if !strings.Contains(s, part) {
			t.Errorf("String() = %q lacks %q", s, part)
		}
	}
	if !strings.Contains(Default().String(), `credentials_secret_id=""`) {
		t.Errorf("an unset secret ID should read as \"\": %s", Default().String())
	}
}

// DIRECTORY names the directory, and ALLOWED_TARGETS is read for it: an
// account ID of the other directory's length is refused, naming the form
// expected.
func TestDirectorySelectsTheFormOfAllowedTargets(t *testing.T) {
	for _, tc := range []struct {
		env   map[string]string
		dir   string
		wants string // in the error; "" for none
	}{
		{map[string]string{}, "resource-directory", ""},
		{map[string]string{EnvDirectory: "aws-organizations", EnvAllowedTargets: "123456789012,*@example.com"}, "aws-organizations", ""},
		{map[string]string{EnvDirectory: "aws-organizations", EnvAllowedTargets: "1234567890123456"}, "", "want a 12-digit account ID"},
		{map[string]string{EnvAllowedTargets: "123456789012"}, "", "want a 16-digit account ID"},
		{map[string]string{EnvDirectory: "organizations"}, "", `DIRECTORY="organizations": want resource-directory (Alibaba Cloud, the default) or aws-organizations`},
	} {
		c, err := Load(env(tc.env))
		switch {
		case tc.wants == "" && (err != nil || c.Directory != tc.dir || c.Kind().Name != tc.dir):
			t.Errorf("%v: %+v, %v; want directory %s", tc.env, c, err, tc.dir)
		case tc.wants != "" && (err == nil || !strings.Contains(err.Error(), tc.wants)):
			t.Errorf("%v: %v, want an error saying %q", tc.env, err, tc.wants)
		}
	}
}
